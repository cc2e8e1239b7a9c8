/**
 * deploy/kubernetes/, proved as far as we can without a cluster (there is
 * none here):
 * - every manifest parses, and every object is valid against the Kubernetes
 *   schema of its apiVersion and kind (kubernetes-models: ajv validators
 *   generated from the Kubernetes OpenAPI spec) and has no field the
 *   Kubernetes types generated from the same spec lack (TypeScript's
 *   excess-property check: the schema leaves objects open, `kubectl apply`'s
 *   strict field validation does not);
 * - the containers' args and environment are accepted by the real CLI's
 *   option definitions (the commander commands of src/), each variable the
 *   twin of a flag of its role; probes, Services, Secret keys, volumes, the
 *   PodDisruptionBudget, the pods' security settings and the stop grace fit;
 * - kubectl, offline: kustomize renders them, the secret generator the README
 *   shows makes the keys the containers read;
 * - the real CLI: the node refuses the Secret's placeholder key, and a Point
 *   and two nodes started with the manifests' args and environment (only
 *   addresses substituted) pass their probes' paths, replicate, and leave
 *   gracefully on SIGTERM within the grace period.
 * Most checks are also run on broken copies (an object, a flag, a manifest),
 * which they must refuse.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import ts from 'typescript';
import { Command } from 'commander';
import type { IContainer, IEnvVar, IPodSpec, IPodTemplateSpec, IService, ISecret, IConfigMap } from 'kubernetes-models/v1';
import type { IStatefulSet, IDeployment } from 'kubernetes-models/apps/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { registerNodeCommand } from '../../src/node/command.js';
import { registerBootstrapCommand } from '../../src/bootstrap/command.js';
import { buildNodeConfig, NODE_DEFAULTS } from '../../src/node/config.js';
import { POINT_DEFAULTS } from '../../src/bootstrap/config.js';
import { join } from 'node:path';
import { CLI, startCli, stopAll, waitHealthy, type CliProcess } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { removeDir, tempDir } from '../helpers/node.js';
import { expectTokenWriteReplicates, nextHost } from '../helpers/cluster.js';
import { pointBackends } from '../helpers/services.js';
import { onPath } from '../../scripts/test-prereqs.mjs';
import { requireTools } from '../helpers/prereqs.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const dir = new URL('deploy/kubernetes/', root);

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } }
interface Kustomization { namespace: string; resources: string[]; images: { name: string; newName: string; newTag: string }[] }
type Workload = IStatefulSet | IDeployment;

/** Every manifest but kustomization.yaml, each document parsed strictly (a duplicate key or a syntax error fails). */
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
const objects: { file: string; object: K8sObject }[] = files.flatMap((file) => {
  const docs = parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'));
  return (Array.isArray(docs) ? docs : [docs]).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { file, object: doc.toJS() as K8sObject };
  });
});
const kustomization = parse(readFileSync(new URL('kustomization.yaml', dir), 'utf8')) as Kustomization;
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };

function ofKind<T>(kind: string): T[] {
  return objects.filter((o) => o.object.kind === kind).map((o) => o.object as unknown as T);
}
function named<T extends K8sObject>(list: T[], name: string): T {
  const found = list.find((o) => o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${name} among ${list.map((o) => o.metadata.name).join(', ')}`);
  return found;
}
const workloads: (Workload & K8sObject)[] = [...ofKind<Workload & K8sObject>('StatefulSet'), ...ofKind<Workload & K8sObject>('Deployment')];
const services = ofKind<IService & K8sObject>('Service');
function template(w: Workload): IPodTemplateSpec & { spec: IPodSpec } {
  const t = w.spec?.template;
  if (t?.spec === undefined) throw new Error('a workload without a pod spec');
  return t as IPodTemplateSpec & { spec: IPodSpec };
}
function container(w: Workload & K8sObject, name: string): IContainer {
  const c = template(w).spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${w.metadata.name} has no container ${name}`);
  return c;
}
/** The project's containers: the image kustomization.yaml maps to the registry. */
const ours = workloads.flatMap((w) => template(w).spec.containers.filter((c) => c.image === kustomization.images[0]?.name).map((c) => ({ w, c })));

/** The model class of an apiVersion and kind, from kubernetes-models (`apps/v1` + `StatefulSet` -> kubernetes-models/apps/v1/StatefulSet). */
async function model(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  if (!/^([a-z0-9.-]+\/)?v\d+(alpha\d+|beta\d+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z]+$/.test(kind)) throw new Error(`not an apiVersion and kind: ${apiVersion} ${kind}`);
  const mod = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
  const ctor = mod[kind];
  if (typeof ctor !== 'function') throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return ctor as new (data: unknown) => { validate(): void };
}

/** The schema's verdict on one object: undefined when valid, else the validator's message (each path and rule). */
async function schemaErrors(object: K8sObject): Promise<string | undefined> {
  const Model = await model(object.apiVersion, object.kind);
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * TypeScript's verdict on the objects typed as their kubernetes-models
 * interfaces: each one an object literal, so a field the Kubernetes types do
 * not have (a misspelt `readinesProbe`) is an excess-property error. One
 * program for all; the messages name the object.
 */
function strictTypeErrors(list: K8sObject[]): string[] {
  const here = fileURLToPath(new URL('kubernetes-strict.ts', import.meta.url));
  const source = list.map((o, i) => {
    const module = o.apiVersion === 'v1' ? 'kubernetes-models/v1' : `kubernetes-models/${o.apiVersion}`;
    return `import type { I${o.kind} as T${i} } from '${module}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};\n`;
  }).join('');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === here ? ts.createSourceFile(name, source, lang) : read(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === here || fileExists(name);
  const program = ts.createProgram([here], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const which = line >= 0 ? list[Math.floor(line / 2)] : undefined;
    return `${which === undefined ? '?' : `${which.kind} ${which.metadata.name}`}: ${text}`;
  });
}

// ---- the CLI side ----

type Register = (program: Command) => void;
const ROLES: Record<string, { register: Register; name: string }> = {
  node: { register: registerNodeCommand, name: 'node' },
  bootstrap: { register: registerBootstrapCommand, name: 'bootstrap' },
};

function subcommand(register: Register, name: string): { program: Command; cmd: Command } {
  const program = new Command();
  register(program);
  const cmd = program.commands.find((c) => c.name() === name);
  if (cmd === undefined) throw new Error(`no ${name} command`);
  return { program, cmd };
}

/** The environment twins of a subcommand's flags, as the real CLI defines them. */
function envTwins(role: string): Set<string> {
  const r = ROLES[role];
  if (r === undefined) throw new Error(`no role ${role}`);
  return new Set(subcommand(r.register, r.name).cmd.options.flatMap((o) => (o.envVar === undefined ? [] : [o.envVar])));
}

/** Sample values for what the kubelet fills in: the downward API's fields (never dialled). */
const FIELD_SAMPLES: Record<string, string> = { 'status.podIP': '192.0.2.17', 'metadata.name': 'node-0' };

/**
 * A container's environment as the kubelet makes it: values, Secret and
 * ConfigMap keys (from the manifests), downward-API fields (samples), and
 * `$(NAME)` expanded from the variables defined before it.
 */
function resolvedEnv(env: IEnvVar[], given: { fields?: Record<string, string>; secrets?: Record<string, string> } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const fields = { ...FIELD_SAMPLES, ...given.fields };
  for (const e of env) {
    const from = e.valueFrom;
    let value: string;
    if (from?.secretKeyRef !== undefined) value = given.secrets?.[from.secretKeyRef.key] ?? secretValue('Secret', from.secretKeyRef.name ?? '', from.secretKeyRef.key);
    else if (from?.configMapKeyRef !== undefined) value = secretValue('ConfigMap', from.configMapKeyRef.name ?? '', from.configMapKeyRef.key);
    else if (from?.fieldRef !== undefined) value = fields[from.fieldRef.fieldPath] ?? `sample-${from.fieldRef.fieldPath}`;
    else value = (e.value ?? '').replace(/\$\((\w+)\)/g, (m, name: string) => out[name] ?? m);
    out[e.name] = value;
  }
  return out;
}

/** A key of a Secret or ConfigMap in the manifests (throws naming it when missing). */
function secretValue(kind: 'Secret' | 'ConfigMap', name: string, key: string): string {
  const holder = objects.map((o) => o.object).find((o) => o.kind === kind && o.metadata.name === name) as (ISecret & IConfigMap & K8sObject) | undefined;
  if (holder === undefined) throw new Error(`no ${kind} ${name} in the manifests`);
  const { stringData, data } = holder as { stringData?: Record<string, string>; data?: Record<string, string> };
  if (stringData?.[key] !== undefined) return stringData[key];
  if (data?.[key] !== undefined) return kind === 'Secret' ? Buffer.from(data[key], 'base64').toString('utf8') : data[key];
  throw new Error(`${kind} ${name} has no key ${key}`);
}

/**
 * The variables a container sets that are not an environment twin of one of
 * its role's flags. A downward-API field used only inside another
 * variable's `$(NAME)` is allowed (the kubelet cannot append a port itself).
 */
function strayEnv(env: IEnvVar[], twins: Set<string>): string[] {
  return env.filter((e) => !twins.has(e.name)).filter((e) => {
    const helper = e.valueFrom?.fieldRef !== undefined && env.some((o) => o !== e && twins.has(o.name) && (o.value ?? '').includes(`$(${e.name})`));
    return !helper;
  }).map((e) => e.name);
}

/**
 * The flags the real CLI makes of a container's args and environment: the
 * role's commander command with its action swapped for a capture. An unknown
 * flag, a stray argument or a value its parser refuses throws. The process's
 * own values of the role's variables are set aside meanwhile.
 */
function cliFlags(args: string[], env: Record<string, string>): { role: string; flags: Record<string, unknown> } {
  const [role, ...rest] = args;
  const r = role === undefined ? undefined : ROLES[role];
  if (r === undefined) throw new Error(`args must start with a role (${Object.keys(ROLES).join(', ')}): ${args.join(' ')}`);
  const { program, cmd } = subcommand(r.register, r.name);
  program.exitOverride();
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let flags: Record<string, unknown> | undefined;
  cmd.action((f: Record<string, unknown>) => { flags = f; });
  const saved = new Map([...envTwins(role as string), ...Object.keys(env)].map((k) => [k, process.env[k]]));
  try {
    for (const k of saved.keys()) Reflect.deleteProperty(process.env, k);
    Object.assign(process.env, env);
    program.parse(['node', 'gossip-cdn', role as string, ...rest], { from: 'node' });
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
  if (flags === undefined) throw new Error('the command did not run');
  return { role: role as string, flags };
}

/** The number of a container port given by name or number. */
function portNumber(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

// ---- the tests ----

describe('deploy/kubernetes: the manifests', () => {
  it('are the files kustomization.yaml lists, every object in the one namespace it names', () => {
    expect([...kustomization.resources].sort()).toEqual(files);
    const namespaces = ofKind<K8sObject>('Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([kustomization.namespace]);
    for (const { object } of objects) expect((object.metadata as { namespace?: string }).namespace, `${object.kind} ${object.metadata.name} leaves the namespace to kustomize`).toBeUndefined();
    expect(objects.map((o) => o.object.kind).sort()).toEqual(expect.arrayContaining(['Deployment', 'Namespace', 'PodDisruptionBudget', 'Secret', 'Service', 'StatefulSet']));
  });

  it('every object is valid against the Kubernetes schema of its apiVersion and kind', async () => {
    for (const { file, object } of objects) {
      expect(await schemaErrors(object), `${file}: ${object.kind} ${object.metadata.name}`).toBeUndefined();
    }
  });

  it('no object has a field the Kubernetes types do not know (strict field validation)', () => {
    expect(strictTypeErrors(objects.map((o) => o.object))).toEqual([]);
  });

  it('the validators refuse broken objects (so the two checks above can fail)', async () => {
    const node = structuredClone(named(ofKind<IStatefulSet & K8sObject>('StatefulSet'), 'node'));
    const spec = node.spec as { selector?: unknown; template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    delete spec.selector;
    (spec.template.spec.containers[0] as { ports: { containerPort: unknown }[] }).ports[0] = { containerPort: 'seven thousand' };
    const errors = await schemaErrors(node);
    expect(errors).toContain('must have required property selector');
    expect(errors).toContain('containerPort must be integer');
    const service = structuredClone(named(services, 'point'));
    (service.spec as { type?: string }).type = 'Everywhere';
    expect(await schemaErrors(service)).toMatch(/type must be equal to one of the allowed values/);
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x' }, spec: { maxUnavailable: [1] } };
    expect(await schemaErrors(pdb)).toMatch(/maxUnavailable/);
    // a misspelt field, which the schema alone lets through
    const typo = structuredClone(named(ofKind<IStatefulSet & K8sObject>('StatefulSet'), 'node'));
    const c = (typo.spec as unknown as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0] as Record<string, unknown>;
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    expect(await schemaErrors(typo)).toBeUndefined();
    const strict = strictTypeErrors([typo]);
    expect(strict.join('\n')).toMatch(/StatefulSet node: .*readinesProbe.* does not exist in type 'IContainer'/s);
    await expect(model('v1', 'NoSuchKind')).rejects.toThrow();
  });
});

describe('deploy/kubernetes: the containers run the real CLI', () => {
  it('the project\'s containers are the node StatefulSet and the Point Deployment, on the image kustomization.yaml maps, tagged with the package version', () => {
    expect(ours.map(({ w, c }) => `${w.kind}/${w.metadata.name}/${c.name}`).sort()).toEqual(['Deployment/point/point', 'StatefulSet/node/node']);
    expect(kustomization.images).toEqual([{ name: 'gossip-cdn', newName: expect.any(String), newTag: pkg.version }]);
    for (const { c } of ours) {
      // the image's ENTRYPOINT (node dist/cli.js) stays: args only
      expect(c.command).toBeUndefined();
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
    expect(readFileSync(new URL('Dockerfile', root), 'utf8')).toContain('ENTRYPOINT ["node", "dist/cli.js"]');
  });

  it('every variable a container sets is an environment twin of a flag of its role', () => {
    for (const { w, c } of ours) {
      const role = c.args?.[0] ?? '';
      expect(strayEnv(c.env ?? [], envTwins(role)), `${w.metadata.name}: variables the ${role} command does not read`).toEqual([]);
    }
    // the check can fail: a misspelt twin, and a helper variable nothing uses
    const twins = envTwins('node');
    expect(strayEnv([{ name: 'BOOTSTRAP_URLS', value: 'http://point:8080' }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], twins)).toEqual(['BOOTSTRAP_URLS', 'POD_NAME']);
    expect(envTwins('node')).toContain('ADVERTISE');
    expect(envTwins('bootstrap')).toContain('REDIS_URL');
  });

  it('the args and environment parse with the real options, and a misspelt flag or a bad value does not', () => {
    for (const { w, c } of ours) {
      expect(() => cliFlags(c.args ?? [], resolvedEnv(c.env ?? [])), `${w.metadata.name}`).not.toThrow();
    }
    const point = container(named(workloads, 'point'), 'point');
    expect(() => cliFlags([...(point.args ?? []), '--prot', '8080'], {})).toThrow(/unknown option '--prot'/);
    expect(() => cliFlags(['bootstrap', '--port', 'eighty'], {})).toThrow(/expected an integer/);
    expect(() => cliFlags(['node', 'extra'], {})).toThrow(/too many arguments|unknown command/);
  });

  it('a node listens on 0.0.0.0 on its container port, advertises its pod IP on it, keeps its data on its own volume and finds the Point by its Service', () => {
    const sts = named(ofKind<IStatefulSet & K8sObject>('StatefulSet'), 'node');
    const c = container(sts, 'node');
    const env = resolvedEnv(c.env ?? []);
    const { flags } = cliFlags(c.args ?? [], env);
    const port = portNumber(c, 'http');
    expect(port).toBeDefined();
    expect(flags.host).toBe('0.0.0.0');
    expect(Number(flags.port)).toBe(port);
    // the pod IP from the downward API, with the same port
    const podIp = (c.env ?? []).find((e) => e.valueFrom?.fieldRef?.fieldPath === 'status.podIP');
    expect(podIp).toBeDefined();
    expect(flags.advertise).toBe(`${FIELD_SAMPLES['status.podIP']}:${port}`);
    // 0.0.0.0 needs the admin key (README "Access"): it comes from the Secret
    expect(c.env?.find((e) => e.name === 'AUTH_PUBLIC_KEY')?.valueFrom?.secretKeyRef?.name).toBe('gossip-cdn');
    expect(flags.authPublicKey).toBeTruthy();
    // DATA_DIR is the mount of the per-pod volume claim
    const mount = c.volumeMounts?.find((m) => m.mountPath === flags.dataDir);
    expect(mount, `a volume mounted at ${String(flags.dataDir)}`).toBeDefined();
    expect(sts.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name)).toContain(mount?.name);
    expect(template(sts).spec.volumes?.some((v) => v.name === mount?.name) ?? false, 'not an emptyDir or another pod volume').toBe(false);
    // each Point URL (a comma-separated list is one edit away) names a Service of the Point, on the port it listens on
    const point = named(workloads, 'point');
    const pointC = container(point, 'point');
    const pointFlags = cliFlags(pointC.args ?? [], resolvedEnv(pointC.env ?? [])).flags;
    const urls = String(flags.bootstrap).split(',').map((u) => new URL(u.trim()));
    expect(urls.length).toBeGreaterThanOrEqual(1);
    for (const url of urls) {
      expect(url.protocol).toBe('http:');
      const pointSvc = named(services, url.hostname);
      const svcPort = pointSvc.spec?.ports?.find((p) => p.port === Number(url.port));
      expect(svcPort, url.href).toBeDefined();
      expect(selects(pointSvc.spec?.selector, template(point).metadata?.labels)).toBe(true);
      expect(portNumber(pointC, svcPort?.targetPort)).toBe(pointFlags.port);
    }
  });

  it('the Point listens on 0.0.0.0 on its container port and reaches Redis and PostgreSQL through their Services', () => {
    const c = container(named(workloads, 'point'), 'point');
    const { flags } = cliFlags(c.args ?? [], resolvedEnv(c.env ?? []));
    expect(flags.host).toBe('0.0.0.0');
    expect(flags.port).toBe(portNumber(c, 'http'));
    for (const [flag, workload] of [['redisUrl', 'redis'], ['databaseUrl', 'postgres']] as const) {
      const url = new URL(String(flags[flag]));
      const svc = named(services, url.hostname);
      const svcPort = svc.spec?.ports?.find((p) => p.port === Number(url.port));
      expect(svcPort, `${flag} ${url.host}`).toBeDefined();
      const w = named(workloads, workload);
      expect(selects(svc.spec?.selector, template(w).metadata?.labels)).toBe(true);
      expect(portNumber(container(w, workload), svcPort?.targetPort)).toBe(Number(url.port));
    }
    // the banlist URL carries the password PostgreSQL is started with
    const dbUrl = new URL(String(flags.databaseUrl));
    const pg = resolvedEnv(container(named(workloads, 'postgres'), 'postgres').env ?? []);
    expect(decodeURIComponent(dbUrl.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(dbUrl.username).toBe(pg.POSTGRES_USER);
    expect(dbUrl.pathname).toBe(`/${pg.POSTGRES_DB}`);
  });
});

// ---- how the objects fit together: each check lists the problems it finds in a set of objects ----

/** Views of one set of objects: the manifests, or a broken copy of them. */
interface Objects { workloads: (Workload & K8sObject)[]; services: (IService & K8sObject)[]; pdbs: (IPodDisruptionBudget & K8sObject)[]; all: K8sObject[] }
function objectsOf(list: K8sObject[]): Objects {
  const of = <T>(kind: string): (T & K8sObject)[] => list.filter((o) => o.kind === kind) as (T & K8sObject)[];
  return { workloads: [...of<IStatefulSet>('StatefulSet'), ...of<IDeployment>('Deployment')], services: of<IService>('Service'), pdbs: of<IPodDisruptionBudget>('PodDisruptionBudget'), all: list };
}
const manifests = objectsOf(objects.map((o) => o.object));
/** A copy of the manifests with `change` made to it. */
function broken(change: (o: Objects) => void): Objects {
  const copy = objectsOf(structuredClone(objects.map((o) => o.object)));
  change(copy);
  return copy;
}
function ourContainers(o: Objects): { w: Workload & K8sObject; c: IContainer }[] {
  return o.workloads.flatMap((w) => template(w).spec.containers.filter((c) => c.image === kustomization.images[0]?.name).map((c) => ({ w, c })));
}

/** Readiness on /readyz and liveness on /healthz, over HTTP on the port the CLI listens on; every container probed. */
function probeProblems(o: Objects): string[] {
  const problems: string[] = [];
  for (const { w, c } of ourContainers(o)) {
    const { flags } = cliFlags(c.args ?? [], resolvedEnv(c.env ?? []));
    for (const [kind, p, path] of [['readiness', c.readinessProbe, '/readyz'], ['liveness', c.livenessProbe, '/healthz']] as const) {
      const where = `${w.metadata.name}/${c.name} ${kind}`;
      if (p?.httpGet?.path !== path) problems.push(`${where}: path ${String(p?.httpGet?.path)}, not ${path}`);
      if (portNumber(c, p?.httpGet?.port) !== Number(flags.port)) problems.push(`${where}: port ${String(p?.httpGet?.port)}, not the --port ${String(flags.port)}`);
      if ((p?.httpGet?.scheme ?? 'HTTP') !== 'HTTP') problems.push(`${where}: scheme ${String(p?.httpGet?.scheme)}`);
    }
  }
  for (const w of o.workloads) {
    for (const c of template(w).spec.containers) {
      if (c.readinessProbe === undefined) problems.push(`${w.metadata.name}/${c.name}: no readiness probe`);
      if (c.livenessProbe === undefined) problems.push(`${w.metadata.name}/${c.name}: no liveness probe`);
    }
  }
  return problems;
}

/**
 * Each workload selects its own pods and no other's; each Service selects
 * one workload's pods, on ports they expose; each StatefulSet's governing
 * Service selects it, the nodes' headless, beside one normal Service for
 * clients; one PodDisruptionBudget over the nodes, one down at a time.
 */
function selectorProblems(o: Objects): string[] {
  const problems: string[] = [];
  const labels = (w: Workload): Record<string, string> | undefined => template(w).metadata?.labels;
  for (const w of o.workloads) {
    if (!selects(w.spec?.selector.matchLabels, labels(w))) problems.push(`${w.metadata.name}: its selector does not select its own pods`);
    for (const other of o.workloads) if (other !== w && selects(w.spec?.selector.matchLabels, labels(other))) problems.push(`${w.metadata.name}: its selector also takes ${other.metadata.name}'s pods`);
  }
  for (const svc of o.services) {
    const matched = o.workloads.filter((w) => selects(svc.spec?.selector, labels(w)));
    if (matched.length !== 1) { problems.push(`Service ${svc.metadata.name} selects ${matched.length} workloads`); continue; }
    const w = matched[0] as Workload;
    for (const p of svc.spec?.ports ?? []) {
      if (!template(w).spec.containers.some((c) => portNumber(c, p.targetPort ?? p.port) !== undefined)) problems.push(`Service ${svc.metadata.name} port ${p.port}: no container port ${String(p.targetPort)}`);
    }
  }
  for (const sts of o.workloads.filter((w): w is IStatefulSet & K8sObject => w.kind === 'StatefulSet')) {
    const svc = o.services.find((s) => s.metadata.name === sts.spec?.serviceName);
    if (svc === undefined || !selects(svc.spec?.selector, labels(sts))) problems.push(`StatefulSet ${sts.metadata.name}: its serviceName ${String(sts.spec?.serviceName)} is no Service selecting it`);
  }
  const node = o.workloads.find((w) => w.metadata.name === 'node');
  if (node === undefined) return [...problems, 'no node StatefulSet'];
  const nodeServices = o.services.filter((s) => selects(s.spec?.selector, labels(node)));
  const governing = (node as IStatefulSet).spec?.serviceName;
  if (nodeServices.find((s) => s.metadata.name === governing)?.spec?.clusterIP !== 'None') problems.push('the nodes\' governing Service is not headless');
  if (nodeServices.filter((s) => s.metadata.name !== governing && s.spec?.clusterIP === undefined).length !== 1) problems.push('not exactly one normal Service for the nodes\' clients');
  const budgets = o.pdbs.filter((p) => selects(p.spec?.selector?.matchLabels, labels(node)));
  if (budgets.length !== 1 || budgets[0]?.spec?.maxUnavailable !== 1) problems.push('not one PodDisruptionBudget of maxUnavailable 1 over the nodes');
  if ((node.spec?.replicas ?? 1) < 2) problems.push('fewer than 2 nodes: a budget of one unavailable would block every drain');
  return problems;
}

/** Every Secret and ConfigMap key (and whole Secret or ConfigMap) a container reads is among the objects. */
function secretRefProblems(o: Objects): string[] {
  const problems: string[] = [];
  const has = (kind: string, name: string, key?: string): boolean => o.all.some((x) => {
    if (x.kind !== kind || x.metadata.name !== name) return false;
    const { stringData, data } = x as { stringData?: Record<string, string>; data?: Record<string, string> };
    return key === undefined || stringData?.[key] !== undefined || data?.[key] !== undefined;
  });
  for (const w of o.workloads) {
    for (const c of template(w).spec.containers) {
      const where = `${w.metadata.name}/${c.name}`;
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        const m = e.valueFrom?.configMapKeyRef;
        if (s !== undefined && s.optional !== true && !has('Secret', s.name ?? '', s.key)) problems.push(`${where} ${e.name}: no key ${s.key} in Secret ${String(s.name)}`);
        if (m !== undefined && m.optional !== true && !has('ConfigMap', m.name ?? '', m.key)) problems.push(`${where} ${e.name}: no key ${m.key} in ConfigMap ${String(m.name)}`);
      }
      for (const from of c.envFrom ?? []) {
        const [kind, name] = from.secretRef !== undefined ? ['Secret', from.secretRef.name ?? ''] : ['ConfigMap', from.configMapRef?.name ?? ''];
        if (!has(kind, name)) problems.push(`${where}: no ${kind} ${name}`);
      }
    }
  }
  return problems;
}

/**
 * Every pod non-root with the runtime's seccomp profile; every container
 * without privilege escalation or capabilities, on a read-only root, with
 * CPU and memory requests and limits; ours as uid 1000 (the image's `node`
 * user, the Dockerfile's USER), the nodes' volumes theirs (fsGroup).
 */
function securityProblems(o: Objects): string[] {
  const problems: string[] = [];
  for (const w of o.workloads) {
    const pod = template(w).spec;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${w.metadata.name}: runAsNonRoot is not set`);
    if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${w.metadata.name}: seccomp profile is not RuntimeDefault`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${w.metadata.name}: a service account token is mounted`);
    // Service links would add REDIS_PORT=tcp://..., POINT_PORT=... to what the process reads
    if (pod.enableServiceLinks !== false) problems.push(`${w.metadata.name}: Service links add variables to the environment`);
    for (const c of pod.containers) {
      const where = `${w.metadata.name}/${c.name}`;
      const sc = c.securityContext;
      if (sc?.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation is not off`);
      if (JSON.stringify(sc?.capabilities?.drop) !== '["ALL"]' || sc?.capabilities?.add !== undefined) problems.push(`${where}: capabilities are not all dropped`);
      if (sc?.privileged === true) problems.push(`${where}: privileged`);
      if (sc?.readOnlyRootFilesystem !== true) problems.push(`${where}: the root filesystem is writable`);
      if (!((sc?.runAsUser ?? pod.securityContext?.runAsUser ?? 0) > 0)) problems.push(`${where}: no non-zero runAsUser`);
      for (const kind of ['requests', 'limits'] as const) {
        if (Object.keys(c.resources?.[kind] ?? {}).sort().join() !== 'cpu,memory') problems.push(`${where}: ${kind} are not cpu and memory`);
      }
    }
  }
  for (const { w, c } of ourContainers(o)) {
    if ((c.securityContext?.runAsUser ?? template(w).spec.securityContext?.runAsUser) !== 1000) problems.push(`${w.metadata.name}/${c.name}: not uid 1000, the image's node user`);
  }
  const node = o.workloads.find((w) => w.metadata.name === 'node');
  if (node !== undefined && template(node).spec.securityContext?.fsGroup !== 1000) problems.push('node: the volume is not given to group 1000 (fsGroup)');
  return problems;
}

/**
 * The node's grace period covers its preStop pause (at least 2 s, for the
 * Services to stop routing to it) and its graceful leave as its own defaults
 * time it: the leave flush, in-flight requests' grace, then the Point link
 * (its loop, 500 ms, and the remove call), with 2 s to spare; the Point's
 * covers its shutdown grace.
 */
function graceProblems(o: Objects): string[] {
  const problems: string[] = [];
  const node = o.workloads.find((w) => w.metadata.name === 'node');
  const point = o.workloads.find((w) => w.metadata.name === 'point');
  if (node === undefined || point === undefined) return ['no node or no point workload'];
  const pause = template(node).spec.containers.find((c) => c.name === 'node')?.lifecycle?.preStop?.sleep?.seconds ?? 0;
  if (pause < 2) problems.push(`node: a preStop pause of ${pause} s`);
  const leaveMs = NODE_DEFAULTS.runtime.leaveFlushMs + NODE_DEFAULTS.shutdownGraceMs + 500 + NODE_DEFAULTS.pointLink.requestTimeoutMs;
  const grace = (template(node).spec.terminationGracePeriodSeconds ?? 30) * 1000;
  if (grace < pause * 1000 + leaveMs + 2_000) problems.push(`node: a grace of ${grace} ms for a ${pause} s pause and ${leaveMs} ms of leaving`);
  if ((template(point).spec.terminationGracePeriodSeconds ?? 30) * 1000 <= POINT_DEFAULTS.shutdownGraceMs) problems.push('point: the grace period does not cover its shutdown grace');
  return problems;
}

describe('deploy/kubernetes: the objects fit together', () => {
  const nodeC = (o: Objects): IContainer => container(named(o.workloads, 'node'), 'node');
  const pointC = (o: Objects): IContainer => container(named(o.workloads, 'point'), 'point');

  it('probes: readiness on /readyz and liveness on /healthz, on the port the process listens on', () => {
    expect(probeProblems(manifests)).toEqual([]);
    expect(probeProblems(broken((o) => { (nodeC(o).readinessProbe?.httpGet ?? { path: '' }).path = '/ready'; }))).toEqual(['node/node readiness: path /ready, not /readyz']);
    expect(probeProblems(broken((o) => { (pointC(o).livenessProbe?.httpGet ?? { port: 0 }).port = 7000; }))).toEqual(['point/point liveness: port 7000, not the --port 8080']);
    expect(probeProblems(broken((o) => { delete container(named(o.workloads, 'redis'), 'redis').livenessProbe; }))).toEqual(['redis/redis: no liveness probe']);
  });

  it('each workload selects its own pods; each Service one workload\'s, on ports they expose; the nodes\' headless and client Services; a PodDisruptionBudget keeps all but one node up', () => {
    expect(selectorProblems(manifests)).toEqual([]);
    expect(selectorProblems(broken((o) => { (named(o.services, 'point').spec ?? {}).selector = { 'app.kubernetes.io/component': 'pointe' }; }))).toEqual(['Service point selects 0 workloads']);
    expect(selectorProblems(broken((o) => { ((named(o.services, 'node').spec?.ports ?? [])[0] ?? { port: 0 }).targetPort = 'gossip'; }))).toEqual(['Service node port 7000: no container port gossip']);
    expect(selectorProblems(broken((o) => { delete (named(o.services, 'node-peers').spec ?? {}).clusterIP; }))).toContain('the nodes\' governing Service is not headless');
    expect(selectorProblems(broken((o) => { (named(o.pdbs, 'node').spec ?? {}).maxUnavailable = 2; }))).toEqual(['not one PodDisruptionBudget of maxUnavailable 1 over the nodes']);
    expect(selectorProblems(broken((o) => { (named(o.workloads, 'redis').spec?.selector.matchLabels ?? {})['app.kubernetes.io/component'] = 'postgres'; })).join('\n')).toMatch(/redis: its selector does not select its own pods/);
  });

  it('every Secret and ConfigMap key a container reads is in the manifests', () => {
    expect(secretRefProblems(manifests)).toEqual([]);
    const reads = manifests.workloads.flatMap((w) => template(w).spec.containers.flatMap((c) => (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef !== undefined)));
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(secretRefProblems(broken((o) => { delete (o.all.find((x) => x.kind === 'Secret') as unknown as { stringData: Record<string, string> }).stringData.DATABASE_URL; }))).toEqual(['point/point DATABASE_URL: no key DATABASE_URL in Secret gossip-cdn']);
  });

  it('every pod runs locked down: non-root (the image\'s node user, uid 1000, for ours), no privilege escalation, no capabilities, read-only root, RuntimeDefault seccomp, no API token, no Service variables, with requests and limits', () => {
    expect(securityProblems(manifests)).toEqual([]);
    expect(readFileSync(new URL('Dockerfile', root), 'utf8')).toMatch(/^USER node$/m);
    expect(securityProblems(broken((o) => { (nodeC(o).securityContext ?? {}).readOnlyRootFilesystem = false; }))).toEqual(['node/node: the root filesystem is writable']);
    expect(securityProblems(broken((o) => { (template(named(o.workloads, 'point')).spec.securityContext ?? {}).runAsUser = 999; }))).toEqual(['point/point: not uid 1000, the image\'s node user']);
    expect(securityProblems(broken((o) => { (container(named(o.workloads, 'postgres'), 'postgres').securityContext ?? {}).capabilities = { drop: ['NET_RAW'] }; }))).toEqual(['postgres/postgres: capabilities are not all dropped']);
    expect(securityProblems(broken((o) => { delete nodeC(o).resources?.limits; }))).toEqual(['node/node: limits are not cpu and memory']);
    expect(securityProblems(broken((o) => { delete template(named(o.workloads, 'point')).spec.enableServiceLinks; }))).toEqual(['point: Service links add variables to the environment']);
  });

  it('a node gets the time its graceful leave takes before SIGKILL, after a preStop pause that takes it out of the Services first', () => {
    expect(graceProblems(manifests)).toEqual([]);
    expect(graceProblems(broken((o) => { template(named(o.workloads, 'node')).spec.terminationGracePeriodSeconds = 10; })).join()).toMatch(/^node: a grace of 10000 ms/);
    expect(graceProblems(broken((o) => { delete nodeC(o).lifecycle; }))).toEqual(['node: a preStop pause of 0 s']);
  });
});

describe('README "Kubernetes"', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- kubernetes:start -->'), readme.indexOf('<!-- kubernetes:end -->'));

  it('says the manifests were validated, not run; names every file and every variable our containers set; applies them as kustomize', () => {
    expect(section).toMatch(/Validated, not run/);
    expect(section).toMatch(/not been applied/);
    for (const file of [...files, 'kustomization.yaml']) expect(section, file).toContain(`\`${file}\``);
    for (const { c } of ours) for (const e of c.env ?? []) expect(section, e.name).toContain(e.name);
    expect(section).toContain('kubectl apply -k deploy/kubernetes');
    expect(section).toContain(`gossip-cdn:${pkg.version}`);
  });
});

describe('deploy/kubernetes: the node\'s environment, given to the real CLI', () => {
  it('the Secret\'s placeholder admin key is refused at start, naming the flag, so an unreplaced secret.yaml cannot go unnoticed', async () => {
    const c = container(named(workloads, 'node'), 'node');
    const dir = await tempDir('gcdn-kube-refused-');
    const env = { ...process.env, ...resolvedEnv(c.env ?? []), DATA_DIR: join(dir, 'data') };
    const failed = await run(process.execPath, [CLI, ...(c.args ?? [])], { env, timeout: 30_000 })
      .then(() => undefined, (err: { code?: number; stderr?: string }) => err)
      .finally(() => removeDir(dir));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/--auth-public-key \(AUTH_PUBLIC_KEY\).*Ed25519 public key/);
  });
});

/**
 * kubectl (its built-in kustomize and its client-side generators; no cluster
 * needed): a prerequisite of the suite, from Debian's kubernetes-client (1.20 suffices).
 */
function kubectl(): string {
  requireTools(['kubectl']);
  const path = onPath('kubectl');
  if (path === undefined) throw new Error('kubectl: requireTools found it, but it is not on PATH');
  return path;
}

describe('deploy/kubernetes: with kubectl (offline: kustomize and the client-side secret generator)', () => {
  it('kubectl kustomize renders every object into the namespace, with the image name and tag set, and the rendered objects are valid too', async () => {
    const rendered = (await run(kubectl(), ['kustomize', fileURLToPath(dir)], { timeout: 60_000 })).stdout;
    const out = parseAllDocuments(rendered).map((d) => d.toJS() as K8sObject & { metadata: { namespace?: string } });
    expect(out.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`).sort());
    for (const o of out) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(o.kind === 'Namespace' ? undefined : kustomization.namespace);
      expect(await schemaErrors(o), `${o.kind} ${o.metadata.name}`).toBeUndefined();
    }
    expect(strictTypeErrors(out)).toEqual([]);
    const image = kustomization.images[0];
    const images = out.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')
      .flatMap((o) => template(o as unknown as Workload).spec.containers.map((c) => c.image));
    expect(images.filter((i) => i?.startsWith(`${image?.newName}:`)).sort()).toEqual([`${image?.newName}:${image?.newTag}`, `${image?.newName}:${image?.newTag}`]);
  });

  it('kubectl kustomize refuses a kustomization with a field it does not know, or a resource that is not there (so the render above can fail)', async () => {
    const copy = await tempDir('gcdn-kube-kustomize-');
    try {
      await cp(fileURLToPath(dir), copy, { recursive: true });
      const text = readFileSync(join(copy, 'kustomization.yaml'), 'utf8');
      await writeFile(join(copy, 'kustomization.yaml'), `${text}imagez: []\n`);
      await expect(run(kubectl(), ['kustomize', copy], { timeout: 60_000 })).rejects.toThrow(/unknown field \W*imagez/);
      await writeFile(join(copy, 'kustomization.yaml'), text.replace('  - node.yaml', '  - nodes.yaml'));
      await expect(run(kubectl(), ['kustomize', copy], { timeout: 60_000 })).rejects.toThrow(/nodes\.yaml/);
    } finally {
      await removeDir(copy);
    }
  });

  it('the secret the README and secret.yaml tell how to make has exactly the keys the containers read, and the README\'s commands, run as written, make a Secret the cluster takes', async () => {
    requireTools(['openssl']);
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- kubernetes:start -->'), readme.indexOf('<!-- kubernetes:end -->'));
    const header = readFileSync(new URL('secret.yaml', dir), 'utf8').split('\napiVersion:')[0] ?? '';
    const literals = (text: string): string[] => [...text.matchAll(/--from-literal=(\w+)=/g)].map((m) => m[1] as string).sort();
    const secret = named(ofKind<ISecret & K8sObject>('Secret'), 'gossip-cdn');
    const keys = Object.keys({ ...secret.data, ...secret.stringData }).sort();
    expect(literals(section)).toEqual(keys);
    expect(literals(header)).toEqual(keys);
    const read = workloads.flatMap((w) => template(w).spec.containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef?.name === 'gossip-cdn' ? [e.valueFrom.secretKeyRef.key] : []))));
    expect([...new Set(read)].sort()).toEqual(keys);

    // the block, in a copy of the repository's deploy/ with gossip-cdn on PATH
    const at = section.indexOf('<!-- readme-test:kube-secret -->');
    expect(at, 'README has the kube-secret block').toBeGreaterThan(-1);
    const script = /```sh\n([\s\S]*?)```/.exec(section.slice(at))?.[1] ?? '';
    const cwd = await tempDir('gcdn-kube-secret-');
    try {
      await cp(fileURLToPath(dir), join(cwd, 'deploy', 'kubernetes'), { recursive: true });
      await mkdir(join(cwd, 'bin'));
      await writeFile(join(cwd, 'bin', 'gossip-cdn'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
      await run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, PATH: `${join(cwd, 'bin')}:${process.env.PATH ?? ''}` }, timeout: 60_000 });
      const made = parse(readFileSync(join(cwd, 'deploy', 'kubernetes', 'secret.yaml'), 'utf8')) as ISecret & K8sObject;
      expect(made.metadata.name).toBe('gossip-cdn');
      expect(Object.keys(made.data ?? {}).sort()).toEqual(keys);
      expect(await schemaErrors(made)).toBeUndefined();
      const value = (k: string): string => Buffer.from(made.data?.[k] ?? '', 'base64').toString('utf8');
      // the node takes its key on 0.0.0.0; the Point's URL carries PostgreSQL's password
      expect(value('AUTH_PUBLIC_KEY')).toBe(readFileSync(join(cwd, 'admin', 'admin-key.pub'), 'utf8').trim());
      expect(() => buildNodeConfig({ host: '0.0.0.0', authPublicKey: value('AUTH_PUBLIC_KEY') })).not.toThrow();
      expect(() => buildNodeConfig({ host: '0.0.0.0', authPublicKey: secretValue('Secret', 'gossip-cdn', 'AUTH_PUBLIC_KEY') })).toThrow(/authPublicKey/);
      expect(decodeURIComponent(new URL(value('DATABASE_URL')).password)).toBe(value('POSTGRES_PASSWORD'));
      // and kustomize renders the cluster with it
      const rendered = parseAllDocuments((await run(kubectl(), ['kustomize', join(cwd, 'deploy', 'kubernetes')], { timeout: 60_000 })).stdout).map((d) => d.toJS() as K8sObject & { data?: Record<string, string> });
      expect(rendered.find((o) => o.kind === 'Secret')?.data).toEqual(made.data);
    } finally {
      await removeDir(cwd);
    }
  });
});

/** `args` with the value after `flag` replaced. */
function withFlag(args: string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  expect(i, `${flag} in ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
  return args.map((a, j) => (j === i + 1 ? value : a));
}

describe('deploy/kubernetes: the Point and two nodes started with the manifests\' args and environment', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('pass their probes, form a cluster at the advertised addresses, replicate, and a SIGTERM leaves gracefully within the grace period', { timeout: 180_000 }, async () => {
    // Only addresses substituted: a loopback address of its own stands for each pod IP (the downward
    // API's status.podIP, where the pod listens), free ports for 8080/7000, the test's Redis and
    // PostgreSQL for the Services', a temp dir for each volume claim, a real admin key for the Secret's.
    const { redis, db, prefix } = await pointBackends(cleanups);

    const pointW = named(workloads, 'point');
    const pointC = container(pointW, 'point');
    const pointPort = await freePort();
    const pointEnv = { ...resolvedEnv(pointC.env ?? []), REDIS_URL: redis.url, DATABASE_URL: db.url, POINT_REDIS_PREFIX: prefix };
    const point = startCli(withFlag(withFlag(pointC.args ?? [], '--host', '127.0.0.1'), '--port', String(pointPort)), { env: pointEnv });
    const pointUrl = `http://127.0.0.1:${pointPort}`;
    await waitHealthy(point, `${pointUrl}${pointC.readinessProbe?.httpGet?.path ?? '?'}`, 60_000);
    expect((await fetch(`${pointUrl}${pointC.livenessProbe?.httpGet?.path ?? '?'}`)).status).toBe(200);

    const adminDir = await tempDir('gcdn-kube-admin-');
    cleanups.push(() => removeDir(adminDir));
    const publicKey = (await run(process.execPath, [CLI, 'auth', 'init', '--dir', adminDir], { timeout: 30_000 })).stdout.trim();
    const token = (await run(process.execPath, [CLI, 'auth', 'token', '--admin-key', join(adminDir, 'admin-key.pem'), '--scope', 'write', '--ttl', '1h'], { timeout: 30_000 })).stdout.trim();

    const nodeW = named(workloads, 'node');
    const nodeC = container(nodeW, 'node');
    const manifestPort = String(portNumber(nodeC, 'http'));
    const nodes: { url: string; address: string; proc: CliProcess }[] = [];
    for (let i = 0; i < 2; i++) {
      const host = nextHost();
      const port = String(await freePort(host));
      const dataDir = await tempDir('gcdn-kube-node-');
      cleanups.push(() => removeDir(dataDir));
      const env = resolvedEnv(nodeC.env ?? [], { fields: { 'status.podIP': host }, secrets: { AUTH_PUBLIC_KEY: publicKey } });
      expect(env.ADVERTISE).toBe(`${host}:${manifestPort}`);
      env.ADVERTISE = `${host}:${port}`;
      env.BOOTSTRAP_URL = (env.BOOTSTRAP_URL ?? '').replace(/\/\/point:8080$/, `//127.0.0.1:${pointPort}`);
      env.DATA_DIR = dataDir;
      const proc = startCli(withFlag(withFlag(nodeC.args ?? [], '--host', host), '--port', port), { env });
      const url = `http://${host}:${port}`;
      await waitHealthy(proc, `${url}${nodeC.readinessProbe?.httpGet?.path ?? '?'}`, 60_000);
      expect((await fetch(`${url}${nodeC.livenessProbe?.httpGet?.path ?? '?'}`)).status).toBe(200);
      nodes.push({ url, address: env.ADVERTISE, proc });
    }
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    const peerState = async (from: string, address: string): Promise<string | undefined> => {
      const view = await (await fetch(`${from}/cluster`)).json() as { peers: { address: string; state: string }[] };
      return view.peers.find((p) => p.address === address)?.state;
    };
    await waitFor(async () => (await peerState(a.url, b.address)) === 'alive', { what: 'node a to see node b alive at its advertised address', timeoutMs: 60_000, intervalMs: 200 });

    // authenticated: an anonymous write is refused, one with a token the admin key signed is taken and replicates
    await expectTokenWriteReplicates(a.url, b.url, token, 'hello, kubernetes');

    // what the kubelet does after the preStop pause: SIGTERM, then SIGKILL at the grace period's end
    const graceMs = (template(nodeW).spec.terminationGracePeriodSeconds ?? 30) * 1000 - (nodeC.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
    const started = performance.now();
    const code = await b.proc.stop(graceMs);
    const tookMs = performance.now() - started;
    expect(code, `node b's exit (${Math.round(tookMs)} ms of ${graceMs} ms)\n${b.proc.output()}`).toBe(0);
    await waitFor(async () => (await peerState(a.url, b.address)) === 'left', { what: 'node a to see node b left', timeoutMs: 30_000, intervalMs: 200 });
  });
});
