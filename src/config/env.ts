import { configProblem } from './problems';

/** The environment a reader reads: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The one way settings are read from the environment. An empty variable
 * counts as unset (`FOO= npm start` means "default"). A wrong value is
 * reported through `configProblem` (src/config/problems.ts), naming the
 * variable and what it expects, and the setting continues with its fallback,
 * so every problem is listed at once.
 */
export interface EnvReader {
  /** The value, or undefined when unset or empty. */
  string(name: string): string | undefined;
  /** The value; a problem when unset or empty ("`name` is required `why`"). */
  required(name: string, why: string): string;
  /**
   * An integer of at least `min` (default 0), or `fallback` when unset. The
   * message says "non-negative" for min 0, "positive" for min 1, and
   * "at least N" otherwise.
   */
  int(name: string, fallback: number, options?: { min?: number }): number;
  /** `on` or `off`, or `fallback` when unset. */
  onOff(name: string, fallback: boolean): boolean;
  /** One of `values`, or `fallback` when unset or wrong. */
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T;
  /** A comma-separated list, each entry trimmed, empty entries dropped. */
  list(name: string): string[];
}

export function envReader(env: Env = process.env): EnvReader {
  const string = (name: string): string | undefined => env[name] || undefined;
  return {
    string,
    required(name, why) {
      const value = string(name);
      if (value === undefined) configProblem(`${name} is required ${why}`);
      return value ?? '';
    },
    int(name, fallback, { min = 0 } = {}) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (Number.isInteger(value) && value >= min) return value;
      configProblem(`${name} must be ${integerOfAtLeast(min)}, got "${raw}"`);
      return fallback;
    },
    onOff(name, fallback) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      if (raw === 'on') return true;
      if (raw === 'off') return false;
      configProblem(`${name} must be "on" or "off", got "${raw}"`);
      return fallback;
    },
    oneOf(name, values, fallback) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      const value = values.find((candidate) => candidate === raw);
      if (value !== undefined) return value;
      configProblem(`${name} must be ${alternatives(values)}, got "${raw}"`);
      return fallback;
    },
    list(name) {
      return (string(name) ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
    },
  };
}

function integerOfAtLeast(min: number): string {
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  return `an integer of at least ${min}`;
}

/** `a`, `a or b`, `a, b or c`. */
function alternatives(values: readonly string[]): string {
  return values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
