import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import type { Clock, JsonObject, Logger } from '../core/index.js';
import type { MetadataStore } from '../store/index.js';
import { canonicalJson, checkCompatibility } from './compatibility.js';
import { CollectErrors } from './errors.js';
import {
  COMPATIBILITY_MODES,
  COMPATIBILITY_POLICIES,
  type CompatibilityMode,
  type CompatibilityPolicy,
  type RegisterSchemaResult,
  type SchemaRegistryApi,
  type SchemaSubject,
  type SchemaVersionInfo,
} from './types.js';
import type { CompiledSchema, SchemaLookup } from './validate.js';

/** Metadata collection of the registry: one document per event name, holding every version. */
export const SCHEMA_COLLECTION = 'schemas';

const DEFAULT_MODE: CompatibilityMode = 'BACKWARD';
const DEFAULT_POLICY: CompatibilityPolicy = 'lenient';

interface VersionDoc {
  readonly version: number;
  readonly schema: JsonObject;
  readonly registeredAt: string;
}

interface SubjectDoc {
  readonly event: string;
  readonly compatibility: CompatibilityMode;
  readonly policy: CompatibilityPolicy;
  readonly versions: readonly VersionDoc[];
  readonly updatedAt: string;
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = formatsModule.default;
const require = createRequire(import.meta.url);

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

function configure<T extends AnyAjv>(ajv: T): T {
  addFormats(ajv);
  return ajv;
}

/**
 * One ajv instance per JSON Schema dialect, shared by every compiled schema (an instance costs tens of
 * milliseconds). `addUsedSchema: false` keeps schemas that reuse an `$id` across versions apart.
 * `useDefaults` fills in declared defaults, which is what makes "required with a default" compatible.
 */
function createAjvs(): { draft7: Ajv; draft2019: Ajv2019; draft2020: Ajv2020 } {
  const options = { strict: false, useDefaults: true, allErrors: false, addUsedSchema: false, logger: false } as const;
  const draft7 = configure(new Ajv(options));
  draft7.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as JsonObject);
  return { draft7, draft2019: configure(new Ajv2019(options)), draft2020: configure(new Ajv2020(options)) };
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Compiled implements CompiledSchema {
  constructor(
    readonly version: number,
    private readonly fn: ValidateFunction,
    readonly source: JsonObject,
    readonly ajv: AnyAjv,
  ) {}
  validate(data: unknown): boolean {
    return this.fn(data);
  }
  firstError(): ErrorObject | undefined {
    return this.fn.errors?.[0] ?? undefined;
  }
}

export class SchemaRegistry implements SchemaRegistryApi, SchemaLookup {
  private readonly ajvs = createAjvs();
  private readonly subjects = new Map<string, SubjectDoc>();
  /** The validator of each event's latest version (the hot path reads only this). */
  private readonly latest = new Map<string, Compiled>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly maxEventNameLength: number,
  ) {}

  /** True when at least one event has a schema (lets validation skip the lookup entirely). */
  get active(): boolean {
    return this.latest.size > 0;
  }

  get size(): number {
    return this.subjects.size;
  }

  lookup(event: string): CompiledSchema | undefined {
    return this.latest.get(event);
  }

  /** (Re)reads every subject from the metadata store; recompiles only what changed. */
  async load(): Promise<void> {
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.list<SubjectDoc>(SCHEMA_COLLECTION, { after, limit: 500 });
      for (const { id, doc } of page.items) {
        seen.add(id);
        const known = this.subjects.get(id);
        if (known?.updatedAt === doc.updatedAt && known.versions.length === doc.versions.length) continue;
        try {
          this.install(doc);
        } catch (error) {
          // A stored schema this ajv cannot compile must not stop the collector: events go unvalidated.
          this.logger.error(
            { err: error, event: id },
            'stored schema does not compile; events of this name are not validated',
          );
          this.subjects.set(id, doc);
        }
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    for (const id of [...this.subjects.keys()]) if (!seen.has(id)) this.uninstall(id);
  }

  register(event: string, schema: unknown): Promise<RegisterSchemaResult> {
    this.checkEventName(event);
    return this.exclusive(async () => {
      const source = this.parseSchema(schema);
      const candidate = this.compile(source);
      const subject = (await this.metadata.get<SubjectDoc>(SCHEMA_COLLECTION, event)) ?? this.emptySubject(event);
      const last = subject.versions.at(-1);
      const violations = checkCompatibility(subject.compatibility, subject.policy, source, subject.versions);
      const unchanged = last !== undefined && canonicalJson(last.schema) === canonicalJson(source);
      if (unchanged || violations.length > 0) candidate.ajv.removeSchema(source);
      if (unchanged) return { event, version: last.version, created: false };
      if (violations.length > 0) {
        throw CollectErrors.create(
          'COLLECT_SCHEMA_INCOMPATIBLE',
          `The schema is not ${subject.compatibility} compatible (${subject.policy} policy): ${violations.length} violation(s)`,
          { details: { event, compatibility: subject.compatibility, policy: subject.policy, violations } },
        );
      }
      const version = (last?.version ?? 0) + 1;
      const now = new Date(this.clock.now()).toISOString();
      const doc: SubjectDoc = {
        ...subject,
        versions: [...subject.versions, { version, schema: source, registeredAt: now }],
        updatedAt: now,
      };
      try {
        await this.metadata.put(SCHEMA_COLLECTION, event, doc);
      } catch (error) {
        candidate.ajv.removeSchema(source);
        throw error;
      }
      this.install(doc, new Compiled(version, candidate.fn, source, candidate.ajv));
      return { event, version, created: true };
    });
  }

  list(): readonly SchemaSubject[] {
    return [...this.subjects.values()].sort((a, b) => (a.event < b.event ? -1 : 1)).map((doc) => this.view(doc));
  }

  get(event: string): SchemaSubject {
    const doc = this.subjects.get(event);
    if (!doc)
      throw CollectErrors.create('COLLECT_SCHEMA_NOT_FOUND', `No schema for event "${event}"`, { details: { event } });
    return this.view(doc);
  }

  getVersion(event: string, version: number | 'latest'): SchemaVersionInfo {
    const doc = this.subjects.get(event);
    if (!doc)
      throw CollectErrors.create('COLLECT_SCHEMA_NOT_FOUND', `No schema for event "${event}"`, { details: { event } });
    const found = version === 'latest' ? doc.versions.at(-1) : doc.versions.find((v) => v.version === version);
    if (!found) {
      throw CollectErrors.create(
        'COLLECT_SCHEMA_VERSION_NOT_FOUND',
        `Event "${event}" has no schema version ${version}`,
        {
          details: { event, version },
        },
      );
    }
    return { event, version: found.version, schema: found.schema, registeredAt: found.registeredAt };
  }

  setCompatibility(
    event: string,
    compatibility: CompatibilityMode,
    policy?: CompatibilityPolicy,
  ): Promise<SchemaSubject> {
    this.checkEventName(event);
    if (!(COMPATIBILITY_MODES as readonly string[]).includes(compatibility)) {
      throw CollectErrors.create(
        'COLLECT_INVALID_COMPATIBILITY',
        `Unknown compatibility mode ${String(compatibility)}`,
        {
          details: { allowed: COMPATIBILITY_MODES },
        },
      );
    }
    if (policy !== undefined && !(COMPATIBILITY_POLICIES as readonly string[]).includes(policy)) {
      throw CollectErrors.create('COLLECT_INVALID_COMPATIBILITY', `Unknown compatibility policy ${String(policy)}`, {
        details: { allowed: COMPATIBILITY_POLICIES },
      });
    }
    return this.exclusive(async () => {
      const subject = (await this.metadata.get<SubjectDoc>(SCHEMA_COLLECTION, event)) ?? this.emptySubject(event);
      const doc: SubjectDoc = {
        ...subject,
        compatibility,
        policy: policy ?? subject.policy,
        updatedAt: new Date(this.clock.now()).toISOString(),
      };
      await this.metadata.put(SCHEMA_COLLECTION, event, doc);
      this.install(doc);
      return this.view(doc);
    });
  }

  delete(event: string): Promise<{ event: string; versions: number[] }> {
    return this.exclusive(async () => {
      const subject = await this.metadata.get<SubjectDoc>(SCHEMA_COLLECTION, event);
      if (!subject)
        throw CollectErrors.create('COLLECT_SCHEMA_NOT_FOUND', `No schema for event "${event}"`, {
          details: { event },
        });
      await this.metadata.delete(SCHEMA_COLLECTION, event);
      this.uninstall(event);
      return { event, versions: subject.versions.map((v) => v.version) };
    });
  }

  private emptySubject(event: string): SubjectDoc {
    return { event, compatibility: DEFAULT_MODE, policy: DEFAULT_POLICY, versions: [], updatedAt: '' };
  }

  private view(doc: SubjectDoc): SchemaSubject {
    const last = doc.versions.at(-1);
    return {
      event: doc.event,
      compatibility: doc.compatibility,
      policy: doc.policy,
      ...(last
        ? { latest: { event: doc.event, version: last.version, schema: last.schema, registeredAt: last.registeredAt } }
        : {}),
      versions: doc.versions.map((v) => v.version),
    };
  }

  private install(doc: SubjectDoc, precompiled?: Compiled): void {
    const last = doc.versions.at(-1);
    const current = this.latest.get(doc.event);
    if (last === undefined) {
      this.dropCompiled(doc.event);
    } else if (
      precompiled ||
      current?.version !== last.version ||
      canonicalJson(current.source) !== canonicalJson(last.schema)
    ) {
      let compiled = precompiled;
      if (!compiled) {
        const { fn, ajv } = this.compile(last.schema);
        compiled = new Compiled(last.version, fn, last.schema, ajv);
      }
      this.dropCompiled(doc.event);
      this.latest.set(doc.event, compiled);
    }
    this.subjects.set(doc.event, doc);
  }

  private uninstall(event: string): void {
    this.dropCompiled(event);
    this.subjects.delete(event);
  }

  private dropCompiled(event: string): void {
    const compiled = this.latest.get(event);
    if (compiled) {
      // ajv caches compiled schemas by object: release the superseded one.
      compiled.ajv.removeSchema(compiled.source);
      this.latest.delete(event);
    }
  }

  private parseSchema(schema: unknown): JsonObject {
    let value = schema;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        throw CollectErrors.create('COLLECT_SCHEMA_INVALID', 'The schema string is not valid JSON');
      }
    }
    if (!isJsonObject(value)) throw CollectErrors.create('COLLECT_SCHEMA_INVALID', 'The schema must be a JSON object');
    return value;
  }

  private compile(schema: JsonObject): { fn: ValidateFunction; ajv: AnyAjv } {
    const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
    let ajv: AnyAjv;
    if (dialect.includes('2020-12')) ajv = this.ajvs.draft2020;
    else if (dialect.includes('2019-09')) ajv = this.ajvs.draft2019;
    else if (dialect === '' || dialect.includes('draft-07') || dialect.includes('draft-06')) ajv = this.ajvs.draft7;
    else {
      throw CollectErrors.create(
        'COLLECT_SCHEMA_INVALID',
        `Unsupported $schema ${dialect} (use draft-06, draft-07, 2019-09 or 2020-12)`,
        {
          details: { $schema: dialect },
        },
      );
    }
    try {
      return { fn: ajv.compile(schema), ajv };
    } catch (error) {
      throw CollectErrors.create('COLLECT_SCHEMA_INVALID', `Not a valid JSON Schema: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private checkEventName(event: string): void {
    if (typeof event !== 'string' || event.length === 0 || event.length > this.maxEventNameLength) {
      throw CollectErrors.create(
        'COLLECT_SCHEMA_INVALID',
        `The event name must be 1 to ${this.maxEventNameLength} characters`,
      );
    }
  }

  /** Registry writes run one at a time in this process (read-check-write of one document). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
