import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) into where the server spent
 * its time: self time per function, and self time per package, so "the
 * biggest costs" in BENCHMARKS.md come from a profile, not from a hunch.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  name: string;
  sharePercent: number;
}

export interface ProfileSummary {
  functions: ProfileLine[];
  packages: ProfileLine[];
}

/** Where a frame's code comes from: a package name, the project, node itself, or V8/GC. */
function origin(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scopeOrName = '', name = ''] = url.slice(modules + 'node_modules/'.length).split('/');
    return scopeOrName.startsWith('@') ? `${scopeOrName}/${name}` : scopeOrName;
  }
  if (url.startsWith('node:')) return 'node (core)';
  return 'switchboard';
}

export function summariseProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const idle = profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const busy = Math.max(1, total - idle);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (!hits || functionName === '(idle)') continue;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const pkg = origin(url, functionName);
    const name = `${functionName || '(anonymous)'} ${where}`.trim() + ` [${pkg}]`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
  }
  const lines = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, sharePercent: Math.round((hits / busy) * 1000) / 10 }));
  return { functions: lines(byFunction), packages: lines(byPackage) };
}
