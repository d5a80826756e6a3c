//! A header list in wire order with lowercase names, cheap to build from Node's rawHeaders
//! and handed to the upstream client as the flat array it is.

export class HeaderList {
  /** Flat [name, value, name, value, …]; names are lowercase. */
  readonly raw: string[];

  constructor(raw: string[] = []) {
    this.raw = raw;
  }

  get(name: string): string | undefined {
    const raw = this.raw;
    let found: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] === name) found = found === undefined ? raw[i + 1] : `${found},${raw[i + 1]}`;
    }
    return found;
  }

  has(name: string): boolean {
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) return true;
    return false;
  }

  add(name: string, value: string): void {
    this.raw.push(name, value);
  }

  /** Replaces every occurrence of `name` with one value, keeping the first one's position. */
  set(name: string, value: string): void {
    const raw = this.raw;
    let at = -1;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] !== name) continue;
      if (at < 0) {
        at = i;
        raw[i + 1] = value;
      } else {
        raw.splice(i, 2);
        i -= 2;
      }
    }
    if (at < 0) raw.push(name, value);
  }

  remove(name: string): void {
    const raw = this.raw;
    for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i] === name) raw.splice(i, 2);
  }
}
