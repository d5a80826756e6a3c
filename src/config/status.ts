//! Resource status as Kubernetes would hold it: conditions with type, status, reason, message.

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

export interface ListenerStatus {
  readonly name: string;
  readonly attachedRoutes: number;
  readonly supportedKinds: readonly { readonly group: string; readonly kind: string }[];
  readonly conditions: readonly Condition[];
}

export interface RouteParentStatus {
  readonly parentRef: { readonly group?: string; readonly kind?: string; readonly namespace?: string; readonly name: string; readonly sectionName?: string; readonly port?: number };
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface ResourceStatus {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly conditions?: readonly Condition[];
  readonly listeners?: readonly ListenerStatus[];
  readonly parents?: readonly RouteParentStatus[];
  readonly ancestors?: readonly RouteParentStatus[];
}

export function condition(type: string, ok: boolean, reason: string, message: string, observedGeneration?: number): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message, ...(observedGeneration === undefined ? {} : { observedGeneration }) };
}
