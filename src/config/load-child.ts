//! Child-process entry: validates the documents a mesh proxy received, sends the plain result back
//! over IPC and exits, taking the parser, the schemas and everything they touched with it.

import type { ConfigDocument } from '../mesh/protocol.js';
import { toPlain } from './load-plain.js';
import { parseDocuments } from './load.js';

process.once('message', (documents: ConfigDocument[]) => {
  process.send!(toPlain(parseDocuments(documents)), () => process.disconnect());
});
