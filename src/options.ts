/**
 * The one way options are built (STYLE.md, "Errors, config and the wire";
 * fastify's one validated, frozen config; memberlist's DefaultLANConfig and
 * DefaultLocalConfig). Each subsystem declares its options once with
 * `defineOptions`: where they sit under the node (the path its messages
 * start with), a strict zod schema (unknown keys refused, each rule with a
 * message), and two named profiles, `production` and `localTest`. Building
 * them is always `buildOptions(set, overrides, profile)`: named defaults,
 * merge (deep; `undefined` keeps the default), validate, freeze (deep). A bad
 * value throws ConfigError naming the option by its full path and its rule,
 * e.g. `membership.probeTimeoutMs: must be at most half of probeIntervalMs`.
 *
 * Pure (no I/O, clock or randomness), so the protocol core uses it too.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';

/** How users name the profiles (`--gossip-profile local-test`). */
export const PROFILE_NAMES = ['production', 'local-test'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
/** How code names them (`MEMBERSHIP_PROFILES.localTest`). */
export type ProfileKey = 'production' | 'localTest';

export function isProfileName(value: unknown): value is ProfileName {
  return (PROFILE_NAMES as readonly unknown[]).includes(value);
}

export function profileKey(name: ProfileName): ProfileKey {
  return name === 'local-test' ? 'localTest' : 'production';
}

export interface Profiles<T> {
  /** what ships: sized for real clusters */
  readonly production: T;
  /** clusters on one machine (tests, the chaos harness, the simulator): shorter timings, same protocol */
  readonly localTest: T;
}

/** Read-only all the way down, as `buildOptions` returns it. */
export type Frozen<T> = T extends (...args: never[]) => unknown ? T
  : T extends readonly (infer E)[] ? readonly Frozen<E>[]
    : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

/** What may be given on top of a profile: any subset, at any depth; `undefined` keeps the default. */
export type Overrides<T> = T extends readonly (infer E)[] ? readonly E[]
  : T extends object ? { [K in keyof T]?: Overrides<T[K]> | undefined }
    : T;

export interface OptionSet<S extends z.ZodType> {
  /** where these options sit under the node, e.g. `membership`; '' for a root (the node, the Point) */
  readonly path: string;
  readonly schema: S;
  /** the named defaults, checked against the schema when defined, frozen */
  readonly profiles: Profiles<Frozen<z.input<S>>>;
}

/**
 * Declares a subsystem's options. Both profiles are validated at once: a
 * shipped profile that breaks its own rules fails at load, naming the option.
 */
export function defineOptions<S extends z.ZodType>(path: string, schema: S, profiles: Profiles<Frozen<z.input<S>>>): OptionSet<S> {
  const set: OptionSet<S> = Object.freeze({
    path,
    schema,
    profiles: deepFreeze({ production: profiles.production, localTest: profiles.localTest }) as Profiles<Frozen<z.input<S>>>,
  });
  const none = {} as Overrides<z.input<S>>;
  buildOptions(set, none, 'production');
  buildOptions(set, none, 'localTest');
  return set;
}

/** The subsystems a root (the node) is composed of, each under the key its messages use as their path. */
export type Sections = Readonly<Record<string, OptionSet<z.ZodType>>>;

/** The schemas of `sections`, keyed as they sit, for the root's own schema. */
export function sectionSchemas<P extends Sections>(sections: P): { readonly [K in keyof P]: P[K]['schema'] } {
  const out: Record<string, z.ZodType> = {};
  for (const [key, set] of Object.entries(sections)) {
    // messages built standalone and under the root must name an option the same way
    if (set.path !== key) throw new Error(`options section ${key} holds the options of ${set.path}`);
    out[key] = set.schema;
  }
  return out as { readonly [K in keyof P]: P[K]['schema'] };
}

/** One profile of every section at once: how a root's profile selects its subsystems' profiles. */
export function sectionProfiles<P extends Sections>(sections: P, key: ProfileKey): { readonly [K in keyof P]: P[K]['profiles'][ProfileKey] } {
  const out: Record<string, unknown> = {};
  for (const [name, set] of Object.entries(sections)) out[name] = set.profiles[key];
  return out as { readonly [K in keyof P]: P[K]['profiles'][ProfileKey] };
}

/**
 * A complete, checked, deeply frozen set of options: `base` (a profile, or a
 * complete set of options such as another profile) with `overrides` merged
 * on top.
 * @throws ConfigError naming the first offending option by its full path, and its rule.
 */
export function buildOptions<S extends z.ZodType>(
  set: OptionSet<S>,
  overrides: Overrides<z.input<S>> = {} as Overrides<z.input<S>>,
  base: ProfileKey | Frozen<z.input<S>> = 'production',
): Frozen<z.output<S>> {
  const start: unknown = base === 'production' || base === 'localTest' ? set.profiles[base as ProfileKey] : base;
  const parsed = set.schema.safeParse(mergeOptions(start, overrides));
  if (!parsed.success) throw configError(set.path, parsed.error.issues[0]);
  return deepFreeze(parsed.data as z.output<S>);
}

/**
 * `overrides` on top of `base`: plain objects merge key by key at every
 * depth; anything else (numbers, strings, arrays) replaces; `undefined`
 * keeps what `base` has. Unknown keys are carried over, so the schema can
 * refuse them by name. Neither argument is changed.
 */
export function mergeOptions(base: unknown, overrides: unknown): unknown {
  if (overrides === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) out[key] = mergeOptions(base[key], value);
  }
  return out;
}

/** Freezes `value` and everything reachable from it through plain objects and arrays, in place. */
export function deepFreeze<T>(value: T): Frozen<T> {
  if (isPlainObject(value) || Array.isArray(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value as Frozen<T>;
}

/**
 * A whole number in [min, max]; every way of missing it (not a number, a
 * fraction, out of range) gives the same message, naming the range.
 */
export function integerIn(min: number, max: number): z.ZodNumber {
  const rule = `must be an integer in [${min}, ${max}]`;
  return z.number({ error: rule }).int(rule).min(min, rule).max(max, rule);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function configError(root: string, issue: z.core.$ZodIssue | undefined): ConfigError {
  const path = [...(root === '' ? [] : [root]), ...(issue?.path ?? []).map(String)];
  if (issue?.code === 'unrecognized_keys') {
    const [first, ...rest] = issue.keys;
    return new ConfigError([...path, first ?? '?'].join('.'), rest.length === 0 ? 'unknown option' : `unknown option (so are ${rest.join(', ')})`);
  }
  return new ConfigError(path.length === 0 ? 'options' : path.join('.'), issue?.message ?? 'invalid');
}
