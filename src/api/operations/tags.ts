/**
 * Tags: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource (spec §1.4, §10).
 *
 * A tag call on an ARN that names no existing resource answers ResourceNotFoundFault; the
 * resource is looked up in the store its ARN type names (`rep`, `endpoint`, `task`). Tags of a
 * deleted resource are removed by its Delete* operation (`app.store.tags.removeAll`).
 */
import type { AddTagsToResourceMessage, ListTagsForResourceMessage, RemoveTagsFromResourceMessage } from '@aws-sdk/client-database-migration-service';
import { parseArn } from '../../model/arn.js';
import { invalidParameter, notFound } from '../../model/faults.js';
import { checkTagKey, checkTags, MAX_TAGS_PER_RESOURCE } from '../../model/tags.js';
import type { App } from '../../control/app.js';
import type { OperationTable } from '../handler.js';

/** How to find a taggable resource by ARN type. New taggable kinds add a line here. */
const LOOKUPS: Record<string, (app: App, arn: string) => boolean> = {
  rep: (app, arn) => app.store.instances.get(arn) !== undefined,
  endpoint: (app, arn) => app.store.endpoints.get(arn) !== undefined,
  task: (app, arn) => app.store.tasks.get(arn) !== undefined,
};

/** Throws unless `arn` names an existing resource of this account and region. */
function requireResource(app: App, arn: string, field: string): void {
  const parsed = parseArn(arn);
  if (!parsed) {
    throw invalidParameter(`${field} "${arn}" is not a DMS ARN; expected arn:aws:dms:<region>:<account>:<rep|endpoint|task>:<id>.`);
  }
  const lookup = LOOKUPS[parsed.type];
  const exists = parsed.region === app.config.region && parsed.account === app.config.accountId && lookup !== undefined && lookup(app, arn);
  if (!exists) throw notFound(`Resource ${arn} (${field}) not found: no replication instance, endpoint or task of this account and region has that ARN.`);
}

export const tagOperations: OperationTable = {
  AddTagsToResource(input: AddTagsToResourceMessage, { app }) {
    const arn = input.ResourceArn!;
    requireResource(app, arn, 'ResourceArn');
    const tags = checkTags(input.Tags);
    app.store.transaction(() => {
      const keys = new Set(app.store.tags.list(arn).map((t) => t.Key));
      for (const t of tags) keys.add(t.Key);
      if (keys.size > MAX_TAGS_PER_RESOURCE) {
        throw invalidParameter(`Tags: ${arn} would have ${keys.size} tags; a resource can have at most ${MAX_TAGS_PER_RESOURCE}. Remove tags first.`);
      }
      app.store.tags.put(arn, tags);
    });
    return {};
  },

  RemoveTagsFromResource(input: RemoveTagsFromResourceMessage, { app }) {
    const arn = input.ResourceArn!;
    requireResource(app, arn, 'ResourceArn');
    const keys = (input.TagKeys ?? []).map((k) => checkTagKey(k, 'TagKeys'));
    app.store.tags.remove(arn, keys);
    return {};
  },

  ListTagsForResource(input: ListTagsForResourceMessage, { app }) {
    const arns = [...(input.ResourceArn !== undefined ? [input.ResourceArn] : []), ...(input.ResourceArnList ?? [])];
    if (arns.length === 0) throw invalidParameter('ResourceArn or ResourceArnList is required: name the resources whose tags to list.');
    const unique = [...new Set(arns)];
    for (const arn of unique) requireResource(app, arn, input.ResourceArn === arn ? 'ResourceArn' : 'ResourceArnList');
    return {
      TagList: unique.flatMap((arn) => app.store.tags.list(arn).map((t) => ({ Key: t.Key, Value: t.Value ?? '', ResourceArn: arn }))),
    };
  },
};
