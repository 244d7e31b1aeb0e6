/**
 * Wrong settings are reported together: an operator fixing a deployment
 * should see every missing or invalid variable in one start, not one per
 * restart. The env reader (src/config/env.ts) calls `configProblem` and
 * goes on with the fallback; `collectConfigProblems` (what loadConfig runs
 * in) throws one ConfigError listing them all at the end.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

// Reading the environment is synchronous, so one module-level list cannot mix
// two readings; `collectConfigProblems` saves and restores it for nesting.
let collecting: string[] | undefined;

/**
 * Reports one wrong setting, naming the variable and what it expects. Inside
 * `collectConfigProblems` it is recorded and the caller continues with its
 * fallback; anywhere else (a reader called on its own) it throws at once.
 */
export function configProblem(problem: string): void {
  if (collecting) collecting.push(problem);
  else throw new ConfigError([problem]);
}

/** Runs `read`, then throws one ConfigError with every problem it reported (a ConfigError it throws itself joins them). */
export function collectConfigProblems<T>(read: () => T): T {
  const outer = collecting;
  const problems: string[] = [];
  collecting = problems;
  let value: T | undefined;
  try {
    value = read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  } finally {
    collecting = outer;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return value as T;
}
