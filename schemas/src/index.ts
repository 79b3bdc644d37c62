export {
  modelSizes,
  defaultRoutingDecision,
  createWitnessEntry,
  withQuality,
  withLatency,
  withError,
  isSuccess,
  meetsQualityThreshold,
  computeLatencyTotal,
  slowestComponent,
  exceedsLatencyThreshold,
} from './entry.js';
export { timestampFromMicros, timestampToMicros, nowTimestamp, nowMicros } from './timestamp.js';
export { validateEntry, limits, DEFAULT_DIM } from './validate.js';
export { reasons } from './reasons.js';
export { createCodec, defaultCodec, encodeEntry, decodeEntry, HEADER_BYTES } from './codec.js';
export { schemaVersions, currentSchemaVersion, createSchemaVersion, loadSchemaVersion } from './versions.js';
export { crc64Avro, fingerprintHex, CRC64_AVRO_EMPTY } from './crc64.js';
export { parsingCanonicalForm } from './canonical-form.js';
export {
  witnessErrorCodes,
  InvalidEntryError,
  DecodeError,
  BadMarkerError,
  UnknownFingerprintError,
  TruncatedMessageError,
  MalformedBodyError,
  SchemaError,
} from './errors.js';
export { BodyFieldError, DecodeBoundsError, InvalidUtf8Error } from './body-errors.js';
export { decodeCaps } from './decode-caps.js';
export { validateCheckpoint, InvalidCheckpointError, CHECKPOINT_INVALID, CHECKPOINT_MAX_RANGES, undeliveredReasons } from './checkpoint.js';
export { encodeCheckpoint, decodeCheckpoint, isCheckpointMessage, checkpointFingerprint, checkpointFingerprintHex } from './checkpoint-codec.js';

export type {
  WitnessEntry,
  WitnessEntryInput,
  ErrorInfoInput,
  DecodedWitnessEntry,
  Embedding,
  ModelSize,
  RoutingDecision,
  LatencyBreakdown,
  LatencyComponent,
  ErrorInfo,
  QualityMetrics,
  ProducerIdentity,
  TraceContext,
  TokenUsage,
} from './entry.js';
export type { ValidateOptions } from './validate.js';
export type { WitnessCheckpoint, UndeliveredRange, UndeliveredReason, RefusedCounts } from './checkpoint.js';
export type { CodecOptions, DecodeOptions, WitnessCodec } from './codec.js';
export type { SchemaVersion } from './versions.js';
export type { WitnessErrorCode, DecodeErrorCode } from './errors.js';

