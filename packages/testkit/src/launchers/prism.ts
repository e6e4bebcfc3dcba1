import { freePort } from './ports.js';
import { resolveBin, type StandIn, spawnNode } from './process.js';

export interface PrismOptions {
  /** Defaults to a free port. */
  port?: number | undefined;
  /** Extra `prism mock` arguments, e.g. `['--dynamic']`. */
  args?: readonly string[] | undefined;
  /** How long to wait for "Prism is listening". Default 30 s (it takes ~3 s to load a large spec). */
  readyTimeoutMs?: number | undefined;
}

export interface PrismStandIn extends StandIn {
  readonly port: number;
  readonly pid: number;
  /** What Prism printed so far (its request log and validation messages). */
  output(): string;
}

/** Starts `prism mock` on 127.0.0.1 serving an OpenAPI document (use `specPath()` for the provider specs). */
export async function startPrism(spec: string, options: PrismOptions = {}): Promise<PrismStandIn> {
  const bin = resolveBin('@stoplight/prism-cli', 'prism', 'add "@stoplight/prism-cli" (5.14.x) to devDependencies');
  const port = options.port ?? (await freePort());
  const managed = spawnNode(
    bin,
    ['mock', '-h', '127.0.0.1', '-p', String(port), ...(options.args ?? []), spec],
    'prism',
    // Prism colours its log; plain text keeps the readiness match and error output simple.
    { env: { FORCE_COLOR: '0', NO_COLOR: '1' } },
  );
  try {
    await managed.waitForOutput(/Prism is listening/, `prism mock ${spec}`, options.readyTimeoutMs);
  } catch (error) {
    await managed.stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, port, pid: managed.pid, output: managed.output, stop: managed.stop };
}
