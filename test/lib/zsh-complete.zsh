#!/bin/zsh -f
# Prints the candidates zsh's completion offers for the line "$1" followed by
# TAB, one per line, with the completion script "$2" loaded under compinit
# (dump file "$3"). The technique, a zsh under zpty whose compadd is wrapped
# to print what it is given, is zsh-capture-completion's (Valodim, MIT).
zmodload zsh/zpty || exit 1
local script=$2 dump=$3
zpty z zsh -f -i
local line
setopt rcquotes
() {
  zpty -w z source $1
  repeat 4; do
    zpty -r z line
    [[ $line == ok* ]] && return
  done
  echo 'error initializing.' >&2
  exit 2
} =( <<< '
PROMPT=
autoload -U compinit
compinit -u -d '"$dump"'
source '"$script"'
bindkey ''^M'' undefined
bindkey ''^J'' undefined
bindkey ''^I'' complete-word
null-line () { echo -E - $''\0'' }
compprefuncs=( null-line )
comppostfuncs=( null-line exit )
zstyle '':completion:*'' list-grouped false
zstyle '':completion:*'' insert-tab false
zstyle '':completion:*'' list-separator ''''
zmodload zsh/zutil
compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return $?
  fi
  typeset -a __hits __dscr __tmp
  if (( $@[(I)-d] )); then
    __tmp=${@[$[${@[(i)-d]}+1]]}
    if [[ $__tmp == \(* ]]; then
      eval "__dscr=$__tmp"
    else
      __dscr=( "${(@P)__tmp}" )
    fi
  fi
  builtin compadd -A __hits -D __dscr "$@"
  setopt localoptions norcexpandparam extendedglob
  typeset -A apre hpre hsuf asuf
  zparseopts -E P:=apre p:=hpre S:=asuf s:=hsuf
  [[ -n $__hits ]] || return
  for i in {1..$#__hits}; do
    echo -E - $IPREFIX$apre$hpre$__hits[$i]$hsuf$asuf
  done
}
echo ok')
zpty -w z "$1"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
  if [[ $line == *$'\0\r' ]]; then
    (( tog++ )) && return 0 || continue
  fi
  (( tog )) && echo -E - ${line%$'\r'}
done
return 2
