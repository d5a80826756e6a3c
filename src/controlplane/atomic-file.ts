//! Files the control plane keeps (CA material, the workload registry) are replaced whole: written to
//! a temporary file beside the target, then renamed over it, so a reader or a crash never sees half of one.

import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text, { mode });
  // writeFileSync's mode applies only when it creates the file; a leftover temp file keeps its own.
  fs.chmodSync(temp, mode);
  fs.renameSync(temp, file);
}
