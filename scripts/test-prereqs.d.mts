/** Types of scripts/test-prereqs.mjs, for test/helpers/prereqs.ts. */
export interface Prerequisite {
  readonly name: string;
  readonly debianPackage: string;
  readonly where: string;
  find(): string | undefined;
  installable?(): boolean;
}
export const DEFAULT_CHROMIUM: string;
export const PREREQUISITES: readonly Prerequisite[];
export function onPath(name: string): string | undefined;
export function postgresBinDir(): string | undefined;
export function chromiumPath(): string | undefined;
export function installCommand(packages: readonly string[]): string;
export function requirePrerequisite(name: string, who: string): string;
export function requirePrerequisites(names: readonly string[], who: string): string[];
export function missingLine(missing: readonly Prerequisite[]): string;
