// oidc-provider ships JavaScript without type declarations; the tests reach it only through
// test/helpers/oidc-provider.ts, which needs the class and little of its surface.
declare module 'oidc-provider' {
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    [member: string]: any;
  }
}
