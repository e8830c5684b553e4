/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, e.g. from `npm run bench -- --profile`): the
 * functions with the most self time, and the files and packages they live in.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/throughput/*.cpuprofile [--top=40] [--callers=name]
 *
 * `--callers=executeQuery` also splits that function's self time by the nearest botbridge
 * frames above it (which of our functions made it run).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 40);
const callersOf = process.argv.find((a) => a.startsWith('--callers='))?.slice(10);
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!files.length) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top=40]\n');
  process.exit(2);
}

function where(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, number>();
  const places = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = `${functionName || '(anonymous)'}  ${where(url)}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const place =
      functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)'
        ? functionName
        : where(url);
    places.set(place, (places.get(place) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled\n\nby file / package (self time):\n`);
  for (const [k, v] of [...places].sort((a, b) => b[1] - a[1]).slice(0, 25))
    process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
  process.stdout.write(`\ntop ${top} functions (self time):\n`);
  for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
  if (callersOf) {
    const stacks = new Map<string, number>();
    for (const [id, us] of self) {
      if (byId.get(id)!.callFrame.functionName !== callersOf) continue;
      const chain: string[] = [];
      for (let at = parent.get(id); at !== undefined && chain.length < 3; at = parent.get(at)) {
        const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
        if (url.includes('/src/')) chain.push(`${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`);
      }
      const key = chain.join(' < ') || '(no botbridge frame)';
      stacks.set(key, (stacks.get(key) ?? 0) + us);
    }
    process.stdout.write(`\n${callersOf} by botbridge callers:\n`);
    for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top))
      process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
  }
}
