import type { MixedResult } from './mixed';
import type { ProfileSummary } from './profile';

/** Result shapes and the markdown table `npm run bench` prints and BENCHMARKS.md quotes. */
export interface ScenarioResult {
  dataset: number;
  orgCalls: number;
  config: 'switchboard' | 'naive' | 'ceiling' | 'cached' | 'postgraphile' | 'floor';
  scenario: string;
  requestsPerSecond: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  requests: number;
  errors: number;
  non2xx: number;
  statementsPerOperation: number | null;
  peakRssMb: number | null;
}

/** One measurement of the side-by-side phase (issue 12). */
export interface SideResult extends ScenarioResult {
  round: number;
  connections: number;
}

export interface SideBySide {
  rounds: number;
  connections: number[];
  duration: number;
  systems: ScenarioResult['config'][];
  results: SideResult[];
}

export interface BenchReport {
  startedAt: string;
  seconds: number;
  settings: { calls: number; orgs: number; skew: number; duration: number; connections: number; smoke: boolean };
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; postgres: string; platform: string };
  results: ScenarioResult[];
  sweep: ScenarioResult[];
  /** Self time of the switchboard server over every scenario (`--profile`). */
  profile: ProfileSummary | null;
  /** The cached configuration under reads plus webhook writes (bench/mixed.ts). */
  mixed: MixedResult | null;
  /** Switchboard, PostGraphile v5 and the raw-SQL floor in alternating rounds (issue 12). */
  sideBySide?: SideBySide | null;
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

function table(headers: string[], rows: (string | number)[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Per operation and concurrency: each system's median req/s and p99 over the
 * rounds, and the MEDIAN OF PER-ROUND RATIOS (each round's switchboard over
 * the same round's peer), which cancels load drift between rounds the way a
 * ratio of medians would not.
 */
export function formatSideBySide(side: SideBySide): string {
  const scenarios = [...new Set(side.results.map((r) => r.scenario))];
  const of = (scenario: string, connections: number, system: string) =>
    side.results.filter((r) => r.scenario === scenario && r.connections === connections && r.config === system);
  const roundRatio = (scenario: string, connections: number, over: string) => {
    const ratios: number[] = [];
    for (let round = 1; round <= side.rounds; round++) {
      const a = of(scenario, connections, 'switchboard').find((r) => r.round === round)?.requestsPerSecond;
      const b = of(scenario, connections, over).find((r) => r.round === round)?.requestsPerSecond;
      if (a && b) ratios.push(a / b);
    }
    const m = median(ratios);
    return m === null ? '–' : `${m.toFixed(2)}× (${ratios.map((r) => r.toFixed(2)).join(', ')})`;
  };
  const cell = (values: number[], format: (v: number) => string) => {
    const m = median(values);
    return m === null ? '–' : format(m);
  };
  const rows: (string | number)[][] = [];
  for (const scenario of scenarios) {
    for (const connections of side.connections) {
      const sys = (system: string, pick: (r: SideResult) => number | null, format: (v: number) => string) =>
        cell(
          of(scenario, connections, system)
            .map(pick)
            .filter((v): v is number => v !== null),
          format,
        );
      rows.push([
        scenario,
        connections,
        ...side.systems.map((system) =>
          sys(
            system,
            (r) => r.requestsPerSecond,
            (v) => v.toFixed(0),
          ),
        ),
        ...side.systems.map((system) => sys(system, (r) => r.latency.p99, ms)),
        side.systems.includes('postgraphile') ? roundRatio(scenario, connections, 'postgraphile') : '–',
        side.systems.includes('floor') ? roundRatio(scenario, connections, 'floor') : '–',
        side.systems
          .map((system) =>
            sys(
              system,
              (r) => r.statementsPerOperation,
              (v) => String(Math.round(v * 100) / 100),
            ),
          )
          .join(' / '),
      ]);
    }
  }
  const errors = side.results.reduce((n, r) => n + r.errors + r.non2xx, 0);
  const peak = side.systems.map((system) => {
    const values = side.results.filter((r) => r.config === system).map((r) => r.peakRssMb ?? 0);
    return `${system} ${values.length ? Math.max(...values) : '–'} MB`;
  });
  return [
    table(
      [
        'operation',
        'conns',
        ...side.systems.map((s) => `${s} req/s`),
        ...side.systems.map((s) => `${s} p99 ms`),
        'switchboard/postgraphile (median of rounds; each round)',
        'switchboard/floor',
        `SQL/op (${side.systems.join(' / ')})`,
      ],
      rows,
    ),
    '',
    `${side.rounds} rounds × ${side.duration} s per system and operation, order rotated each round; medians over rounds. ` +
      `Errors + non-2xx over the phase: ${errors}. Peak RSS under load (VmHWM): ${peak.join(', ')}.`,
  ].join('\n');
}

export function formatReport(report: BenchReport): string {
  const { settings, machine } = report;
  const orgCalls = report.results[0]?.orgCalls ?? report.sideBySide?.results[0]?.orgCalls ?? 0;
  const lines: string[] = [
    `## Benchmark ${report.startedAt}`,
    '',
    `Dataset: ${settings.calls.toLocaleString('en')} calls in ${settings.orgs} organisations; the scenarios query the largest ` +
      `(${orgCalls.toLocaleString('en')} calls). ${settings.connections} connections, ${settings.duration} s per scenario` +
      `${settings.smoke ? ' (smoke run)' : ''}. Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GiB, ` +
      `Node ${machine.node}, PostgreSQL ${machine.postgres}, ${machine.platform}. Took ${report.seconds} s.`,
    '',
    table(
      ['scenario', 'config', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx', 'SQL/op', 'peak RSS MB'],
      report.results.map((r) => [
        r.scenario,
        r.config,
        r.requestsPerSecond,
        ms(r.latency.p50),
        ms(r.latency.p90),
        ms(r.latency.p99),
        ms(r.latency.max),
        r.errors,
        r.non2xx,
        r.statementsPerOperation ?? '–',
        r.peakRssMb ?? '–',
      ]),
    ),
  ];

  const scenarios = [...new Set(report.results.map((r) => r.scenario))];
  const find = (scenario: string, config: ScenarioResult['config']) => report.results.find((r) => r.scenario === scenario && r.config === config);
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? (a / b).toFixed(2) : '–');
  lines.push(
    '',
    'Throughput ratios (higher is better for switchboard/naive; switchboard/ceiling shows what the GraphQL layer keeps of raw SQL):',
    '',
    table(
      ['scenario', 'switchboard/naive req/s', 'switchboard/ceiling req/s', 'cached/switchboard req/s', 'SQL/op switchboard', 'SQL/op naive'],
      scenarios.map((s) => [
        s,
        ratio(find(s, 'switchboard')?.requestsPerSecond, find(s, 'naive')?.requestsPerSecond),
        ratio(find(s, 'switchboard')?.requestsPerSecond, find(s, 'ceiling')?.requestsPerSecond),
        ratio(find(s, 'cached')?.requestsPerSecond, find(s, 'switchboard')?.requestsPerSecond),
        find(s, 'switchboard')?.statementsPerOperation ?? '–',
        find(s, 'naive')?.statementsPerOperation ?? '–',
      ]),
    ),
  );

  if (report.sweep.length) {
    lines.push(
      '',
      'Scale sweep (switchboard; the queried organisation holds the share of calls shown):',
      '',
      table(
        ['dataset calls', 'org calls', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'SQL/op'],
        [...report.sweep]
          .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.dataset - b.dataset)
          .map((r) => [
            r.dataset.toLocaleString('en'),
            r.orgCalls.toLocaleString('en'),
            r.scenario,
            r.requestsPerSecond,
            ms(r.latency.p50),
            ms(r.latency.p99),
            r.statementsPerOperation ?? '–',
          ]),
      ),
    );
  }
  if (report.mixed) {
    const m = report.mixed;
    lines.push(
      '',
      `Mixed load on the cached configuration: every read scenario but signed recording URLs in rotation, while ` +
        `${m.writesPerSecond} webhook call events/s (${m.writes} in all, ${m.writeFailures} failed) invalidate the organisation's answers:`,
      '',
      table(
        ['req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx', 'response-cache hits', 'misses', 'hit rate %'],
        [
          [
            m.requestsPerSecond,
            ms(m.latency.p50),
            ms(m.latency.p90),
            ms(m.latency.p99),
            ms(m.latency.max),
            m.errors,
            m.non2xx,
            m.responseCache.hits,
            m.responseCache.misses,
            m.responseCache.hitRatePercent ?? '–',
          ],
        ],
      ),
    );
  }

  if (report.sideBySide) {
    lines.push(
      '',
      'Against PostGraphile v5 and the one-statement raw-SQL floor (issue 12; response cache off, pool 10, alternating rounds):',
      '',
      formatSideBySide(report.sideBySide),
    );
  }

  if (report.profile) {
    lines.push(
      '',
      'Where switchboard spends its CPU over all scenarios (self time, share of non-idle samples; `--profile`):',
      '',
      table(
        ['package', 'share %'],
        report.profile.packages.map((p) => [p.name, p.sharePercent]),
      ),
      '',
      table(
        ['function', 'share %'],
        report.profile.functions.map((f) => [f.name.replace(/\|/g, '\\|'), f.sharePercent]),
      ),
    );
  }
  return lines.join('\n');
}
