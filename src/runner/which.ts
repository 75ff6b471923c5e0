import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

/** Where `name` is found on PATH (the first executable file of that name), or null: what a shell, or git running a merge driver, would start. */
export function onPath(name: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}
