//! SecurityPolicy `oidc`: a browser login with OpenID Connect (authorization code flow with PKCE),
//! the session kept in an encrypted cookie. Envoy Gateway's OIDC fields, adapted.

import type { z } from 'zod';
import type { SecretObjectReference } from '../../resources.js';
import { preciseHostname } from '../formats.js';
import { bool, list, oneOf, pattern, strict, string } from '../primitives.js';
import { secretObjectRef } from '../refs.js';
import { durationWithin, httpURL } from './idp.js';
import { claimToHeaders, type ClaimToHeader } from './token-source.js';

export interface OIDCProvider {
  /** The OpenID provider; endpoints not given below come from its discovery document. */
  readonly issuer: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  /** RP-initiated logout; the discovery document's when unset, and logout ends at postLogoutRedirectURL when there is none. */
  readonly endSessionEndpoint?: string;
  /** The keys that sign ID tokens. */
  readonly jwksURI?: string;
}

export interface OIDCSpec {
  readonly provider: OIDCProvider;
  readonly clientID: string;
  /** A Secret whose key `client-secret` holds the client's secret. */
  readonly clientSecret: SecretObjectReference;
  /** How the client authenticates at the token endpoint. Default client_secret_basic. */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Where the provider sends the browser back (registered at the provider); windrose answers its path itself. */
  readonly redirectURL: string;
  /** The path that ends the session. Default /logout. */
  readonly logoutPath?: string;
  /** Where the provider sends the browser after logout (registered at the provider). Default: "/" of redirectURL's origin. */
  readonly postLogoutRedirectURL?: string;
  /** Scopes to ask for; `openid` is always added. */
  readonly scopes?: readonly string[];
  /** A Secret whose key `cookie-secret` (at least 32 bytes) encrypts the session cookie; every gateway replica must share it. */
  readonly cookieSecret: SecretObjectReference;
  readonly cookieDomain?: string;
  readonly cookieNames?: {
    /** Default windrose-session. */
    readonly session?: string;
    /** Prefix of the short-lived cookies of logins in progress. Default windrose-login. */
    readonly login?: string;
  };
  /** How long a login lasts. Default 1h. With forwardAccessToken never longer than the access token. */
  readonly sessionLifetime?: string;
  /** Send the access token upstream as `Authorization: Bearer`. */
  readonly forwardAccessToken?: boolean;
  readonly claimToHeaders?: readonly ClaimToHeader[];
}

const cookieName = pattern(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'cookie name', 'expected an RFC 6265 token', { min: 1, max: 64 });
const scope = pattern(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'scope', 'expected printable ASCII without spaces, quotes or backslashes (RFC 6749 scope-token)', { min: 1, max: 256 });
const absolutePath = pattern(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/, 'path', 'expected an absolute path such as "/logout"', { min: 1, max: 1024 });

export const oidcSpec: z.ZodType<OIDCSpec> = strict({
  provider: strict({
    issuer: httpURL,
    authorizationEndpoint: httpURL.optional(),
    tokenEndpoint: httpURL.optional(),
    endSessionEndpoint: httpURL.optional(),
    jwksURI: httpURL.optional(),
  }),
  clientID: string({ min: 1, max: 256 }),
  clientSecret: secretObjectRef,
  tokenEndpointAuthMethod: oneOf(['client_secret_basic', 'client_secret_post']).optional(),
  redirectURL: httpURL,
  logoutPath: absolutePath.optional(),
  postLogoutRedirectURL: httpURL.optional(),
  scopes: list(scope, { min: 1, max: 32 }).optional(),
  cookieSecret: secretObjectRef,
  cookieDomain: preciseHostname.optional(),
  cookieNames: strict({ session: cookieName.optional(), login: cookieName.optional() }).optional(),
  sessionLifetime: durationWithin('1m', '168h').optional(),
  forwardAccessToken: bool.optional(),
  claimToHeaders: claimToHeaders.optional(),
}).superRefine((s, ctx) => {
  if (URL.canParse(s.redirectURL) && new URL(s.redirectURL).pathname === (s.logoutPath ?? '/logout')) {
    if (s.logoutPath !== undefined) ctx.addIssue({ code: 'custom', message: 'must differ from the path of redirectURL', path: ['logoutPath'] });
    else ctx.addIssue({ code: 'custom', message: 'its path is the default logoutPath "/logout"; choose another path or set logoutPath', path: ['redirectURL'] });
  }
  if (s.cookieNames?.session !== undefined && s.cookieNames.session === s.cookieNames.login) {
    ctx.addIssue({ code: 'custom', message: 'must differ from the session cookie name', path: ['cookieNames', 'login'] });
  }
});
