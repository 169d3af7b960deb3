/**
 * The AWS DMS service model (botocore's dms-service-2.json, Apache-2.0, see ./aws/NOTICE).
 * Request validation and response serialization are driven by it, so the wire format matches
 * what the AWS SDKs and CLI expect without hand-written shapes for 119 operations.
 */
import model from './aws/dms-service-2.json' with { type: 'json' };

export interface ShapeRef {
  shape: string;
}

export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'timestamp' | 'blob';
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  exception?: boolean;
  sensitive?: boolean;
}

export interface Operation {
  name: string;
  input?: ShapeRef;
  output?: ShapeRef;
  errors?: ShapeRef[];
}

interface ServiceModel {
  metadata: { targetPrefix: string; apiVersion: string; endpointPrefix: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

const service = model as unknown as ServiceModel;

export const TARGET_PREFIX = service.metadata.targetPrefix;
export const API_VERSION = service.metadata.apiVersion;

export function getOperation(name: string): Operation | undefined {
  return Object.hasOwn(service.operations, name) ? service.operations[name] : undefined;
}

export function operationNames(): string[] {
  return Object.keys(service.operations);
}

export function getShape(name: string): Shape {
  const shape = service.shapes[name];
  if (!shape) throw new Error(`shape ${name} is not in the DMS model`);
  return shape;
}

/** Names of every fault shape the model declares (`"exception": true`). */
export function modelledFaults(): string[] {
  return Object.entries(service.shapes)
    .filter(([, s]) => s.exception)
    .map(([n]) => n);
}
