// Checks OTLP/JSON payloads, one ExportXServiceRequest object per line, against the official
// OpenTelemetry .proto files (as shipped in the npm package @opentelemetry/otlp-grpc-exporter-base,
// loaded with protobufjs's reflection), strictly:
//   - every key is a field of its message, spelled in lowerCamelCase (protobufjs's fromObject
//     would silently ignore unknown keys, so the JSON is walked against the reflected types);
//   - every value has its field's JSON type: 64-bit integers as decimal strings, 32-bit
//     integers and enums as JSON integers (enums must be defined values), doubles as numbers,
//     bools as booleans, traceId/spanId/parentSpanId as lowercase hex of 16/8 bytes (not
//     base64), other bytes as base64; at most one member of each oneof;
//   - the payload then converts with fromObject, passes verify(), and survives a binary
//     encode/decode round trip;
//   - fields at their default value (0, "", false, "0", enum 0) left out, as the proto3 JSON
//     mapping writes them; fields with presence (oneof members, proto3 optional) may be set
//     to a zero value;
//   - OTLP rules beyond the types: non-zero ids and timestamps after 2000, histogram bucket
//     counts that add up to count with one more bucket than bounds.
//
//   node check_otlp.mjs FILE...       exit 0 when every line of every file passes
//   node check_otlp.mjs --self-test FILE   also proves that broken variants of FILE's lines fail
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');

const pkgDir = path.dirname(require.resolve('@opentelemetry/otlp-grpc-exporter-base/package.json'));
const protoDir = path.join(pkgDir, 'build', 'protos');

function loadRoot() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  root.loadSync([
    'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  ]);
  root.resolveAll();
  return root;
}

const root = loadRoot();
const requestTypes = {
  resourceMetrics: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
  resourceSpans: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  resourceLogs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
};

const HEX_IDS = { traceId: 16, spanId: 8, parentSpanId: 8 };
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const YEAR_2000_NS = 946684800n * 1000000000n;

function checkScalar(field, v, where, problems) {
  const t = field.type;
  if (field.name in HEX_IDS && t === 'bytes') {
    const want = HEX_IDS[field.name] * 2;
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${want}}$`).test(v))
      problems.push(`${where}: ${field.name} must be ${want} lowercase hex digits, got ${JSON.stringify(v)}`);
    else if (/^0+$/.test(v)) problems.push(`${where}: ${field.name} is all zeros (invalid)`);
    return;
  }
  if (t === 'string') {
    if (typeof v !== 'string') problems.push(`${where}: string expected, got ${JSON.stringify(v)}`);
  } else if (t === 'bool') {
    if (typeof v !== 'boolean') problems.push(`${where}: boolean expected, got ${JSON.stringify(v)}`);
  } else if (t === 'double' || t === 'float') {
    if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${where}: finite JSON number expected, got ${JSON.stringify(v)}`);
  } else if (INT64.has(t) || UINT64.has(t)) {
    const re = UINT64.has(t) ? /^(0|[1-9][0-9]*)$/ : /^(0|-?[1-9][0-9]*)$/;
    if (typeof v !== 'string' || !re.test(v)) {
      problems.push(`${where}: ${t} must be a decimal string, got ${JSON.stringify(v)}`);
      return;
    }
    const b = BigInt(v);
    const [lo, hi] = UINT64.has(t) ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
    if (b < lo || b > hi) problems.push(`${where}: ${v} is out of range for ${t}`);
    if (/UnixNano$/.test(field.name) && b !== 0n && b < YEAR_2000_NS)
      problems.push(`${where}: ${field.name} ${v} is not Unix time in ns (before 2000)`);
  } else if (INT32.has(t) || UINT32.has(t)) {
    const [lo, hi] = UINT32.has(t) ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
    if (!Number.isInteger(v) || v < lo || v > hi) problems.push(`${where}: ${t} must be a JSON integer, got ${JSON.stringify(v)}`);
  } else if (t === 'bytes') {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      problems.push(`${where}: bytes must be base64, got ${JSON.stringify(v)}`);
  } else {
    problems.push(`${where}: unhandled scalar type ${t}`);
  }
}

// Whether a value is its field's proto3 default (messages have presence: never a default here).
function isDefault(field, v) {
  if (field.resolvedType instanceof protobuf.Type) return false;
  if (field.resolvedType instanceof protobuf.Enum) return v === 0;
  const t = field.type;
  if (t === 'string' || t === 'bytes') return v === '';
  if (t === 'bool') return v === false;
  if (INT64.has(t) || UINT64.has(t)) return v === '0' || v === 0;
  return v === 0;
}

function checkMessage(type, obj, where, problems) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    problems.push(`${where}: object expected for ${type.fullName}, got ${JSON.stringify(obj)}`);
    return;
  }
  const oneofSeen = new Map();
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];  // protobufjs names fields in lowerCamelCase
    const at = `${where}.${key}`;
    if (!field) {
      problems.push(`${at}: no field "${key}" in ${type.fullName} (fields: ${Object.keys(type.fields).join(', ')})`);
      continue;
    }
    if (field.partOf && !field.partOf.name.startsWith('_')) {  // a real oneof, not proto3 optional
      const other = oneofSeen.get(field.partOf.name);
      if (other) problems.push(`${at}: oneof ${field.partOf.name} already set by ${other}`);
      oneofSeen.set(field.partOf.name, key);
    }
    if (!field.repeated && !field.partOf && isDefault(field, value))
      problems.push(`${at}: ${JSON.stringify(value)} is the field's default value; leave the field out`);
    const values = field.repeated ? value : [value];
    if (field.repeated && !Array.isArray(value)) {
      problems.push(`${at}: repeated field must be an array`);
      continue;
    }
    values.forEach((v, i) => {
      const w = field.repeated ? `${at}[${i}]` : at;
      if (field.resolvedType instanceof protobuf.Type) {
        checkMessage(field.resolvedType, v, w, problems);
      } else if (field.resolvedType instanceof protobuf.Enum) {
        if (!Number.isInteger(v)) problems.push(`${w}: enum ${field.resolvedType.name} must be an integer, got ${JSON.stringify(v)}`);
        else if (!Object.values(field.resolvedType.values).includes(v))
          problems.push(`${w}: ${v} is not a value of enum ${field.resolvedType.name}`);
      } else {
        checkScalar(field, v, w, problems);
      }
    });
  }
  // OTLP rules on top of the types
  if (type.name === 'HistogramDataPoint') {
    const bounds = obj.explicitBounds ?? [];
    const counts = obj.bucketCounts ?? [];
    if (counts.length && counts.length !== bounds.length + 1)
      problems.push(`${where}: ${counts.length} bucketCounts for ${bounds.length} explicitBounds (want one more)`);
    for (let i = 1; i < bounds.length; ++i)
      if (!(bounds[i] > bounds[i - 1])) problems.push(`${where}: explicitBounds not strictly increasing at ${i}`);
    try {
      const total = counts.reduce((a, c) => a + BigInt(c), 0n);
      if (counts.length && total !== BigInt(obj.count ?? '0')) problems.push(`${where}: bucketCounts add up to ${total}, count is ${obj.count}`);
    } catch { /* the type check above reported it */ }
  }
  if ((type.name === 'Sum' || type.name === 'Histogram') && !obj.aggregationTemporality)
    problems.push(`${where}: ${type.name} without aggregationTemporality`);
}

// Proto3 JSON would read traceId/spanId as base64; OTLP/JSON writes hex. Convert for fromObject.
function hexIdsToBytes(v) {
  if (Array.isArray(v)) return v.map(hexIdsToBytes);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = k in HEX_IDS && typeof x === 'string' ? Buffer.from(x, 'hex') : hexIdsToBytes(x);
    return out;
  }
  return v;
}

export function checkLine(line) {
  const problems = [];
  let obj;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return { kind: '?', problems: [`not JSON: ${e.message}`] };
  }
  const keys = obj && typeof obj === 'object' ? Object.keys(obj) : [];
  const kind = keys.find((k) => k in requestTypes);
  if (!kind) return { kind: '?', problems: [`not an OTLP export request (keys: ${keys.join(', ')})`] };
  const type = requestTypes[kind];
  checkMessage(type, obj, type.name, problems);
  if (!problems.length) {
    const msg = type.fromObject(hexIdsToBytes(obj));
    const err = type.verify(msg);
    if (err) problems.push(`verify: ${err}`);
    const back = type.decode(type.encode(msg).finish());
    const a = JSON.stringify(type.toObject(msg, { longs: String, enums: Number, bytes: String }));
    const b = JSON.stringify(type.toObject(back, { longs: String, enums: Number, bytes: String }));
    if (a !== b) problems.push('binary round trip changed the message');
  }
  return { kind, problems };
}

function checkFiles(files) {
  const counts = { resourceMetrics: 0, resourceSpans: 0, resourceLogs: 0 };
  let bad = 0;
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
    if (!lines.length) {
      console.log(`FAIL ${file}: no payloads`);
      ++bad;
    }
    lines.forEach((line, i) => {
      const { kind, problems } = checkLine(line);
      if (kind in counts) ++counts[kind];
      for (const p of problems.slice(0, 20)) console.log(`FAIL ${file}:${i + 1}: ${p}`);
      if (problems.length) ++bad;
    });
  }
  const total = counts.resourceMetrics + counts.resourceSpans + counts.resourceLogs;
  console.log(`checked ${total} OTLP/JSON payloads (${counts.resourceMetrics} metrics, ${counts.resourceSpans} traces, ` +
              `${counts.resourceLogs} logs) against ${path.relative(process.cwd(), protoDir) || protoDir}: ${bad} bad`);
  return bad === 0 && total > 0;
}

// Breaks good payloads in the ways the OTLP/JSON rules forbid; each must be reported.
function selfTest(file) {
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"resourceSpans"'));
  const metrics = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"resourceMetrics"'));
  if (!line || !metrics) {
    console.log(`FAIL self-test: ${file} needs a traces and a metrics line`);
    return false;
  }
  const span = (o) => o.resourceSpans[0].scopeSpans[0].spans[0];
  const cases = {
    'unknown field': (o) => { span(o).spanName = 'x'; },
    'snake_case field name': (o) => { const s = span(o); s.start_time_unix_nano = s.startTimeUnixNano; delete s.startTimeUnixNano; },
    'int64 as a JSON number': (o) => { span(o).startTimeUnixNano = Number(span(o).startTimeUnixNano); },
    'base64 span id': (o) => { span(o).spanId = Buffer.from(span(o).spanId, 'hex').toString('base64'); },
    'uppercase hex trace id': (o) => { span(o).traceId = span(o).traceId.toUpperCase(); },
    'short span id': (o) => { span(o).spanId = 'abcd'; },
    'enum as a string': (o) => { span(o).kind = 'SPAN_KIND_INTERNAL'; },
    'undefined enum value': (o) => { span(o).kind = 42; },
    'string for a number': (o) => { span(o).attributes = [{ key: 'k', value: { doubleValue: '1.5' } }]; },
    'two members of a oneof': (o) => { span(o).attributes = [{ key: 'k', value: { stringValue: 'a', boolValue: true } }]; },
    'monotonic time, not Unix time': (o) => { span(o).startTimeUnixNano = '123456789'; },
    'all-zero trace id': (o) => { span(o).traceId = '0'.repeat(32); },
    'a field at its default value': (o) => { span(o).droppedAttributesCount = 0; },
  };
  const metricCases = {
    'cumulative bucket counts': (o) => {
      for (const rm of o.resourceMetrics) for (const m of rm.scopeMetrics[0].metrics)
        if (m.histogram) { const dp = m.histogram.dataPoints[0]; let run = 0n; dp.bucketCounts = dp.bucketCounts.map((c) => String(run += BigInt(c))); return; }
      throw new Error('no histogram to break');
    },
    'a zero count written out': (o) => {
      for (const rm of o.resourceMetrics) for (const m of rm.scopeMetrics[0].metrics)
        if (m.histogram) { const dp = m.histogram.dataPoints[0]; dp.count = '0'; dp.bucketCounts = dp.bucketCounts.map(() => '0'); return; }
      throw new Error('no histogram to break');
    },
    'asInt as a number': (o) => {
      for (const rm of o.resourceMetrics) for (const m of rm.scopeMetrics[0].metrics)
        if (m.sum) { m.sum.dataPoints[0].asInt = Number(m.sum.dataPoints[0].asInt ?? 1); return; }
    },
  };
  let ok = true;
  const run = (base, name, breakIt) => {
    const o = JSON.parse(base);
    breakIt(o);
    const { problems } = checkLine(JSON.stringify(o));
    console.log(`${problems.length ? 'ok  ' : 'FAIL'} self-test: ${name} ${problems.length ? 'rejected: ' + problems[0] : 'was accepted'}`);
    if (!problems.length) ok = false;
  };
  for (const [name, f] of Object.entries(cases)) run(line, name, f);
  for (const [name, f] of Object.entries(metricCases)) run(metrics, name, f);
  return ok;
}

const args = process.argv.slice(2);
let ok = true;
if (args[0] === '--self-test') {
  args.shift();
  ok = selfTest(args[0]) && ok;
}
if (!args.length) {
  console.log('usage: node check_otlp.mjs [--self-test] FILE...');
  process.exit(2);
}
ok = checkFiles(args) && ok;
process.exit(ok ? 0 : 1);
