//! `windrose validate PATH`: prints every config error, one line each, and exits 1 if there are any.

import { Command } from 'commander';
import { formatConfigError } from '../config/resources.js';

export function validateCommand(): Command {
  return new Command('validate')
    .description('check a file or directory of resources; print each error as file:line:column resource field: message')
    .argument('<path>', 'file or directory of YAML/JSON resources')
    .action(async (path: string) => {
      // Loaded here, not at the top: the gateway commands never need the parser in their own thread.
      const { loadConfig } = await import('../config/load.js');
      const { translate } = await import('../config/translate/index.js');
      const result = await loadConfig(path);
      for (const w of result.warnings) process.stderr.write(`warning: ${formatConfigError(w)}\n`);
      for (const e of result.errors) process.stderr.write(`${formatConfigError(e)}\n`);
      if (result.errors.length > 0) {
        process.stderr.write(`${result.errors.length} error(s) in ${result.files.length} file(s)\n`);
        process.exit(1);
      }
      const t = translate(result.resources);
      const notAccepted = t.statuses.flatMap((s) =>
        [...(s.conditions ?? []), ...(s.parents ?? []).flatMap((p) => p.conditions), ...(s.listeners ?? []).flatMap((l) => l.conditions)]
          .filter((c) => (c.type === 'Accepted' || c.type === 'ResolvedRefs') && c.status === 'False')
          .map((c) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}: ${c.type}=False ${c.reason}: ${c.message}`));
      for (const line of notAccepted) process.stdout.write(`note: ${line}\n`);
      process.stdout.write(`ok: ${result.resources.length} resource(s) in ${result.files.length} file(s); ${t.ports.length} port(s), ${t.clusters.length} backend cluster(s)\n`);
    });
}
