//! Hostname intersection between a listener and a route, as the Gateway API defines it.

function wildcardCovers(wildcard: string, host: string): boolean {
  // "*.example.com" covers "a.example.com" and "a.b.example.com", never "example.com" itself.
  const suffix = wildcard.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Hostnames a route answers for on a listener; [] means they do not intersect. "*" means any host. */
export function intersectHostnames(listenerHostname: string | undefined, routeHostnames: readonly string[] | undefined): string[] {
  const routes = routeHostnames && routeHostnames.length > 0 ? routeHostnames.map((h) => h.toLowerCase()) : undefined;
  const listener = listenerHostname?.toLowerCase();
  if (listener === undefined) return routes ? [...new Set(routes)] : ['*'];
  if (routes === undefined) return [listener];
  const out = new Set<string>();
  for (const h of routes) {
    if (h === listener) out.add(h);
    else if (listener.startsWith('*.') && !h.startsWith('*.') && wildcardCovers(listener, h)) out.add(h);
    else if (h.startsWith('*.') && !listener.startsWith('*.') && wildcardCovers(h, listener)) out.add(listener);
    else if (h.startsWith('*.') && listener.startsWith('*.')) {
      if (wildcardCovers(listener, h.slice(2))) out.add(h);
      else if (wildcardCovers(h, listener.slice(2))) out.add(listener);
    }
  }
  return [...out];
}

export function hostMatchesCertificateName(name: string, host: string): boolean {
  return name === host || (name.startsWith('*.') && wildcardCovers(name, host) && !host.slice(0, host.length - name.length + 1).includes('.'));
}
