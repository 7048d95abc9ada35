// Node objects for the Kubernetes API stand-in (fake-kube.ts) and the tests
// that seed it: a Node as the API serves it (optionally with the ~6 KB a
// real kubelet and control plane add), flannel's annotations, net-conf.json,
// and how a PATCH of annotations and conditions changes a Node.

export type Obj = Record<string, any>;

export interface NodeSeed {
  name: string;
  podCIDR?: string;
  /** Defaults to [podCIDR] when podCIDR is given. */
  podCIDRs?: string[];
  annotations?: Record<string, string>;
  internalIP?: string;
  /** A cloud's NetworkUnavailable=True condition (NoRouteCreated), as a fresh cloud node has. */
  networkUnavailable?: boolean;
}

export const FLANNEL_PREFIX = 'flannel.alpha.coreos.com';

/** The annotations flannel's kube subnet manager publishes for a vxlan node. */
export function flannelAnnotations(publicIP: string, vtepMAC: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [`${FLANNEL_PREFIX}/backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: vtepMAC }),
    [`${FLANNEL_PREFIX}/backend-type`]: 'vxlan',
    [`${FLANNEL_PREFIX}/kube-subnet-manager`]: 'true',
    [`${FLANNEL_PREFIX}/public-ip`]: publicIP,
    ...extra,
  };
}

/** net-conf.json as kube-flannel.yml ships it. */
export function netConfJSON(network = '198.18.0.0/16', backend: Obj = { Type: 'vxlan' }): string {
  return JSON.stringify({ Network: network, EnableNFTables: false, Backend: backend }, null, 2) + '\n';
}

/** A Node object as the API serves it, for a seed (`realistic`: with a kubelet's bulk, ~6 KB). */
export function nodeObject(seed: NodeSeed, uid: string, realistic: boolean): Obj {
  const spec: Obj = {};
  if (seed.podCIDR !== undefined) spec.podCIDR = seed.podCIDR;
  const cidrs = seed.podCIDRs ?? (seed.podCIDR !== undefined ? [seed.podCIDR] : undefined);
  if (cidrs) spec.podCIDRs = cidrs;
  const metadata: Obj = {
    name: seed.name,
    uid,
    resourceVersion: '',
    creationTimestamp: '2024-05-01T10:00:00Z',
    labels: {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': seed.name,
      'kubernetes.io/os': 'linux',
    },
    annotations: {
      'node.alpha.kubernetes.io/ttl': '0',
      'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      ...seed.annotations,
    },
  };
  const node: Obj = {
    metadata,
    spec,
    status: {
      addresses: [
        ...(seed.internalIP ? [{ type: 'InternalIP', address: seed.internalIP }] : []),
        { type: 'Hostname', address: seed.name },
      ],
      conditions: [{
        type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status',
        lastHeartbeatTime: '2024-05-01T10:05:00Z', lastTransitionTime: '2024-05-01T10:00:30Z',
      }, ...(seed.networkUnavailable ? [{
        type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated', message: 'Node created without a route',
        lastHeartbeatTime: '2024-05-01T10:00:00Z', lastTransitionTime: '2024-05-01T10:00:00Z',
      }] : [])],
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'v1.30.2', containerRuntimeVersion: 'containerd://1.7.18' },
    },
  };
  if (realistic) addRealisticBulk(node);
  return node;
}

/**
 * A merge patch of metadata.annotations (null deletes) and a strategic merge
 * of status.conditions by type, applied to `n` in place.
 */
export function mergeNodePatch(n: Obj, annotations: unknown, conditions: unknown): void {
  if (Array.isArray(conditions)) {
    n.status.conditions ??= [];
    for (const c of conditions) {
      const i = n.status.conditions.findIndex((x: Obj) => x.type === c?.type);
      if (i >= 0) n.status.conditions[i] = { ...n.status.conditions[i], ...c };
      else n.status.conditions.push(c);
    }
  }
  if (annotations && typeof annotations === 'object') {
    n.metadata.annotations ??= {};
    for (const [k, v] of Object.entries(annotations)) {
      if (v === null) delete n.metadata.annotations[k];
      else n.metadata.annotations[k] = v;
    }
  }
}

/**
 * What a kubelet and the control plane add to a Node besides what ovlnet
 * reads, at about the size a real cluster serves (~6 KB per Node).
 */
function addRealisticBulk(n: Obj): void {
  const name = n.metadata.name;
  const t = '2024-05-01T10:00:00Z';
  const fields = (keys: string[]) => Object.fromEntries(keys.map((k) => [`f:${k}`, {}]));
  n.metadata.labels = {
    ...n.metadata.labels,
    'node.kubernetes.io/instance-type': 'm5.xlarge',
    'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': 'eu-west-1a',
    'node-role.kubernetes.io/worker': '',
  };
  n.metadata.managedFields = [
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: t, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': fields(['node.alpha.kubernetes.io/ttl', 'volumes.kubernetes.io/controller-managed-attach-detach']), 'f:labels': fields(Object.keys(n.metadata.labels)) } } },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: t, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': { '.': {}, 'v:"198.18.0.0/24"': {} } } } },
    { manager: 'flanneld', operation: 'Update', apiVersion: 'v1', subresource: 'status', time: t, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': fields(['flannel.alpha.coreos.com/backend-data', 'flannel.alpha.coreos.com/backend-type', 'flannel.alpha.coreos.com/kube-subnet-manager', 'flannel.alpha.coreos.com/public-ip']) }, 'f:status': { 'f:conditions': { 'k:{"type":"NetworkUnavailable"}': fields(['lastHeartbeatTime', 'lastTransitionTime', 'message', 'reason', 'status', 'type']) } } } },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', subresource: 'status', time: t, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': { 'f:allocatable': fields(['cpu', 'ephemeral-storage', 'memory', 'pods']), 'f:capacity': fields(['cpu', 'ephemeral-storage', 'memory', 'pods']),
        'f:conditions': Object.fromEntries(['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready'].map((c) => [`k:{"type":"${c}"}`, fields(['lastHeartbeatTime', 'lastTransitionTime', 'message', 'reason', 'status', 'type'])])),
        'f:images': {}, 'f:nodeInfo': fields(['bootID', 'containerRuntimeVersion', 'kernelVersion', 'kubeProxyVersion', 'kubeletVersion', 'machineID', 'osImage', 'systemUUID']) } } },
  ];
  n.spec.providerID = `aws:///eu-west-1a/i-0${name.replace(/[^0-9a-f]/g, '').padStart(16, '0')}`;
  n.status.capacity = { cpu: '4', 'ephemeral-storage': '104845292Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '16073484Ki', pods: '110' };
  n.status.allocatable = { cpu: '3920m', 'ephemeral-storage': '95551679124', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '15056652Ki', pods: '110' };
  const condition = (type: string, reason: string, message: string) => ({ type, status: 'False', reason, message, lastHeartbeatTime: t, lastTransitionTime: t });
  n.status.conditions.push(
    condition('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    condition('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    condition('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
  );
  n.status.daemonEndpoints = { kubeletEndpoint: { Port: 10250 } };
  n.status.nodeInfo = {
    ...n.status.nodeInfo, machineID: 'ec2a8d1b4f0e4c6e9d3b2a1f0e9d8c7b', systemUUID: 'ec2a8d1b-4f0e-4c6e-9d3b-2a1f0e9d8c7b', bootID: '0b7d8a3e-2c4f-4e1a-9b6d-5f3e2a1c0d9b',
    kernelVersion: '5.10.219-208.866.amzn2.x86_64', osImage: 'Amazon Linux 2', kubeProxyVersion: 'v1.30.2',
  };
  const images = [
    ['registry.k8s.io/kube-proxy', 'v1.30.2', 29035454], ['docker.io/flannel/flannel', 'v0.25.4', 31312872], ['docker.io/flannel/flannel-cni-plugin', 'v1.4.1-flannel1', 4618342],
    ['registry.k8s.io/pause', '3.9', 321520], ['quay.io/prometheus/node-exporter', 'v1.8.1', 11694920], ['docker.io/library/nginx', '1.27.0', 71005258],
    ['registry.k8s.io/coredns/coredns', 'v1.11.1', 18182961], ['docker.io/grafana/promtail', '3.0.0', 84471393], ['registry.k8s.io/metrics-server/metrics-server', 'v0.7.1', 19459410],
    ['docker.io/bitnami/redis', '7.2.5', 37218448], ['quay.io/jetstack/cert-manager-controller', 'v1.15.1', 19710376], ['docker.io/library/busybox', '1.36.1', 2231050],
  ] as const;
  n.status.images = images.map(([repo, tag, size], i) => ({
    names: [`${repo}@sha256:${(i.toString(16) + 'c0ffee'.repeat(11)).slice(0, 64)}`, `${repo}:${tag}`],
    sizeBytes: size,
  }));
}
