//! jose, loaded on first use. It brings WebCrypto along, about 8 MB of resident memory in every
//! process that imports it, which a gateway without JWT or OIDC policies never needs.

type Jose = typeof import('jose');

let jose: Jose | undefined;
let loading: Promise<Jose> | undefined;

export function loadJose(): Promise<Jose> {
  return (loading ??= import('jose').then((m) => (jose = m)));
}

/** jose, for code that only runs after an awaited loadJose(). */
export function loadedJose(): Jose {
  if (jose === undefined) throw new Error('jose was used before it was loaded');
  return jose;
}
