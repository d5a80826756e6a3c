//! The kinds windrose reads: accepted apiVersions, scope, and the schema of each document.

import type { z } from 'zod';
import type { Resource, ResourceKind } from '../resources.js';
import { authorizationPolicySpec } from './authorization.js';
import { backendTLSPolicySpec } from './backendtlspolicy.js';
import { configMapDocument, endpointSliceDocument, namespaceDocument, secretDocument, serviceDocument } from './core.js';
import { gatewayClassSpec, gatewaySpec } from './gateway.js';
import { httpRouteSpec } from './httproute.js';
import { type Parsed, specDocument } from './meta.js';
import { referenceGrantSpec } from './referencegrant.js';
import { securityPolicySpec } from './security/index.js';
import { backendSpec, backendTrafficPolicySpec } from './windrose.js';

export type SpecOf<K extends ResourceKind> = Extract<Resource, { kind: K }>['spec'];

export interface KindDef<K extends ResourceKind> {
  /** Accepted apiVersions, the preferred one first. */
  readonly apiVersions: readonly string[];
  readonly namespaced: boolean;
  /** EndpointSlice and Secret keep their data beside metadata rather than under `spec`. */
  readonly specAtTopLevel: boolean;
  readonly document: z.ZodType<Parsed<SpecOf<K>>>;
}

const GATEWAY_VERSIONS = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'];

export const KINDS: { readonly [K in ResourceKind]: KindDef<K> } = {
  Namespace: { apiVersions: ['v1'], namespaced: false, specAtTopLevel: false, document: namespaceDocument },
  GatewayClass: { apiVersions: GATEWAY_VERSIONS, namespaced: false, specAtTopLevel: false, document: specDocument(gatewayClassSpec) },
  Gateway: { apiVersions: GATEWAY_VERSIONS, namespaced: true, specAtTopLevel: false, document: specDocument(gatewaySpec) },
  HTTPRoute: { apiVersions: GATEWAY_VERSIONS, namespaced: true, specAtTopLevel: false, document: specDocument(httpRouteSpec) },
  ReferenceGrant: {
    apiVersions: ['gateway.networking.k8s.io/v1beta1', 'gateway.networking.k8s.io/v1'],
    namespaced: true,
    specAtTopLevel: false,
    document: specDocument(referenceGrantSpec),
  },
  Service: { apiVersions: ['v1'], namespaced: true, specAtTopLevel: false, document: serviceDocument },
  EndpointSlice: { apiVersions: ['discovery.k8s.io/v1'], namespaced: true, specAtTopLevel: true, document: endpointSliceDocument },
  Secret: { apiVersions: ['v1'], namespaced: true, specAtTopLevel: true, document: secretDocument },
  ConfigMap: { apiVersions: ['v1'], namespaced: true, specAtTopLevel: true, document: configMapDocument },
  BackendTLSPolicy: {
    apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha3'],
    namespaced: true,
    specAtTopLevel: false,
    document: specDocument(backendTLSPolicySpec),
  },
  Backend: { apiVersions: ['windrose.dev/v1alpha1'], namespaced: true, specAtTopLevel: false, document: specDocument(backendSpec) },
  BackendTrafficPolicy: {
    apiVersions: ['windrose.dev/v1alpha1'],
    namespaced: true,
    specAtTopLevel: false,
    document: specDocument(backendTrafficPolicySpec),
  },
  AuthorizationPolicy: {
    apiVersions: ['windrose.dev/v1alpha1'],
    namespaced: true,
    specAtTopLevel: false,
    document: specDocument(authorizationPolicySpec),
  },
  SecurityPolicy: {
    apiVersions: ['windrose.dev/v1alpha1'],
    namespaced: true,
    specAtTopLevel: false,
    document: specDocument(securityPolicySpec),
  },
};

export const KIND_NAMES = Object.keys(KINDS) as ResourceKind[];

export const isKnownKind = (kind: string): kind is ResourceKind => Object.hasOwn(KINDS, kind);
