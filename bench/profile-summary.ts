/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, e.g. from `npm run bench -- --profile`): the
 * functions with the most self time, and the files and packages they live in.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/throughput/*.cpuprofile [--top=40] [--callers=name]
 *
 * `--callers=executeQuery` also splits that function's self time by the nearest botbridge
 * frames above it (which of our functions made it run). `--inclusive` lists botbridge's functions
 * by the time spent in them and everything they called (each sample counted once per function).
 * `--window=10` keeps only the busiest 10 s (the fewest idle samples): the measured phase at
 * the maximum rate, without start-up and the quieter phases around it.
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
const inclusive = process.argv.includes('--inclusive');
const windowS = Number(process.argv.find((a) => a.startsWith('--window='))?.slice(9) ?? 0);
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
  const [from, to] = windowS ? busiest(profile, windowS * 1e6) : [0, profile.samples.length];
  const self = new Map<number, number>();
  for (let i = from; i < to; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
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
  if (inclusive) {
    const spent = new Map<string, number>();
    for (const [id, us] of self) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
        if (!url.includes('/src/')) continue;
        const name = `${functionName || '(anonymous)'}  ${where(url)}:${lineNumber + 1}`;
        if (seen.has(name)) continue;
        seen.add(name);
        spent.set(name, (spent.get(name) ?? 0) + us);
      }
    }
    process.stdout.write(`\ntop ${top} botbridge functions (inclusive time):\n`);
    for (const [k, v] of [...spent].sort((a, b) => b[1] - a[1]).slice(0, top))
      process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
  }
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

/** The samples [from, to) of the `span` µs with the least idle time. */
function busiest(profile: Profile, span: number): [number, number] {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let best: [number, number] = [0, profile.samples.length];
  let bestBusy = -1;
  let from = 0;
  let width = 0;
  let busy = 0;
  for (let to = 0; to < profile.samples.length; to++) {
    const d = profile.timeDeltas[to] ?? 0;
    width += d;
    if (!idle.has(profile.samples[to])) busy += d;
    while (width > span && from < to) {
      const e = profile.timeDeltas[from] ?? 0;
      width -= e;
      if (!idle.has(profile.samples[from])) busy -= e;
      from++;
    }
    if (busy > bestBusy) {
      bestBusy = busy;
      best = [from, to + 1];
    }
  }
  return best;
}
