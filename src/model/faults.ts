/**
 * The fault catalog: every error the API answers with, named as AWS names it, with its HTTP
 * status. Handlers throw these; the protocol layer only serializes them as
 * `{"__type": code, "message": ...}`.
 */
export type FaultCode =
  | 'AccessDeniedFault'
  | 'InvalidResourceStateFault'
  | 'InvalidParameterValueException'
  | 'InvalidParameterCombinationException'
  | 'ResourceAlreadyExistsFault'
  | 'ResourceNotFoundFault'
  | 'ResourceQuotaExceededFault'
  | 'StorageQuotaExceededFault'
  | 'InsufficientResourceCapacityFault'
  | 'UpgradeDependencyFailureFault'
  | 'KMSKeyNotAccessibleFault'
  | 'InvalidOperationFault'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'ThrottlingException'
  | 'MissingAuthenticationTokenException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException'
  | 'IncompleteSignatureException'
  | 'RequestEntityTooLargeException'
  | 'InternalFailure';

const STATUS: Record<FaultCode, number> = {
  AccessDeniedFault: 400,
  InvalidResourceStateFault: 400,
  InvalidParameterValueException: 400,
  InvalidParameterCombinationException: 400,
  ResourceAlreadyExistsFault: 400,
  ResourceNotFoundFault: 400,
  ResourceQuotaExceededFault: 400,
  StorageQuotaExceededFault: 400,
  InsufficientResourceCapacityFault: 400,
  UpgradeDependencyFailureFault: 400,
  KMSKeyNotAccessibleFault: 400,
  InvalidOperationFault: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
  ThrottlingException: 400,
  MissingAuthenticationTokenException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  IncompleteSignatureException: 400,
  RequestEntityTooLargeException: 413,
  InternalFailure: 500,
};

export class DmsFault extends Error {
  readonly code: FaultCode;
  readonly status: number;
  /** Extra members serialized next to `message` (e.g. `resourceArn` on ResourceAlreadyExistsFault). */
  readonly extra: Record<string, unknown>;

  constructor(code: FaultCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = STATUS[code];
    this.extra = extra;
  }
}

export const invalidParameter = (message: string): DmsFault =>
  new DmsFault('InvalidParameterValueException', message);
export const invalidCombination = (message: string): DmsFault =>
  new DmsFault('InvalidParameterCombinationException', message);
export const notFound = (message: string): DmsFault => new DmsFault('ResourceNotFoundFault', message);
export const invalidState = (message: string): DmsFault => new DmsFault('InvalidResourceStateFault', message);
export const alreadyExists = (message: string, resourceArn?: string): DmsFault =>
  new DmsFault('ResourceAlreadyExistsFault', message, resourceArn ? { resourceArn } : {});
export const quotaExceeded = (message: string): DmsFault => new DmsFault('ResourceQuotaExceededFault', message);
