/**
 * Events: DescribeEvents and DescribeEventCategories (spec §1.4, §13).
 *
 * Events are recorded by the control plane (`app.event`) and read back here. As AWS does, a
 * DescribeEvents without StartTime, EndTime or Duration covers the last hour; Duration is in
 * minutes. Categories compare case-insensitively, since AWS spells them both ways
 * (`Creation` in the User Guide, `creation` in DescribeEventCategories answers).
 */
import type { DescribeEventCategoriesMessage, DescribeEventsMessage } from '@aws-sdk/client-database-migration-service';
import { invalidParameter } from '../../model/faults.js';
import type { EventRecord } from '../../store/index.js';
import { applyFilters, type Filter } from '../filters.js';
import type { OperationTable } from '../handler.js';
import { paginate } from '../pagination.js';

/** Event categories per source type (spec §13). Emitters use these exact spellings. */
export const EVENT_CATEGORIES = {
  'replication-instance': ['Configuration Change', 'Creation', 'Deletion', 'Maintenance', 'LowStorage', 'Failover', 'Failure'],
  'replication-task': ['State Change', 'Failure', 'Configuration Change', 'Deletion', 'Creation'],
} as const satisfies Record<string, readonly string[]>;

const SOURCE_TYPES = Object.keys(EVENT_CATEGORIES);
const DEFAULT_MINUTES = 60;
const MINUTE = 60_000;

function checkSourceType(sourceType: string | undefined): void {
  if (sourceType !== undefined && !SOURCE_TYPES.includes(sourceType)) {
    throw invalidParameter(`SourceType "${sourceType}" is not valid; use one of: ${SOURCE_TYPES.join(', ')}.`);
  }
}

/** The [start, end] window of a DescribeEvents call. */
function eventWindow(input: DescribeEventsMessage, now: Date): { start: Date; end: Date } {
  const duration = input.Duration;
  if (duration !== undefined && duration < 0) throw invalidParameter(`Duration must be a number of minutes >= 0 (got ${duration}).`);
  let start = input.StartTime;
  let end = input.EndTime;
  if (start === undefined && end === undefined) {
    end = now;
    start = new Date(now.getTime() - (duration ?? DEFAULT_MINUTES) * MINUTE);
  } else if (start === undefined) {
    start = new Date(end!.getTime() - (duration ?? DEFAULT_MINUTES) * MINUTE);
  } else if (end === undefined) {
    end = duration !== undefined ? new Date(start.getTime() + duration * MINUTE) : now;
  }
  // A Duration of billions of minutes reaches past the dates a Date can hold (they would be NaN).
  if (Number.isNaN(start.getTime()) || Number.isNaN(end!.getTime())) {
    throw invalidParameter(`Duration ${duration} minutes reaches outside the representable dates; give a smaller Duration (in minutes), or StartTime and EndTime instead.`);
  }
  if (start.getTime() > end!.getTime()) {
    throw invalidParameter(`StartTime (${start.toISOString()}) is after EndTime (${end!.toISOString()}); give a StartTime before the EndTime.`);
  }
  return { start, end: end! };
}

export const eventOperations: OperationTable = {
  DescribeEvents(input: DescribeEventsMessage, { app }) {
    checkSourceType(input.SourceType);
    const { start, end } = eventWindow(input, new Date());
    const wanted = input.EventCategories?.map((c) => c.toLowerCase());
    let events = app.store.events.query({
      ...(input.SourceIdentifier !== undefined ? { sourceIdentifier: input.SourceIdentifier } : {}),
      ...(input.SourceType !== undefined ? { sourceType: input.SourceType } : {}),
      startTime: start,
      endTime: end,
    });
    if (wanted?.length) events = events.filter((e) => e.EventCategories.some((c) => wanted.includes(c.toLowerCase())));
    events = applyFilters<EventRecord>(
      events,
      input.Filters as Filter[] | undefined,
      { 'replication-instance-id': (e) => (e.SourceType === 'replication-instance' ? e.SourceIdentifier : undefined) },
      ['replication-instance-id'],
    );
    // Oldest first, as AWS lists them; insertion order can differ from event time (imported events).
    events.sort((a, b) => (a.Date < b.Date ? -1 : a.Date > b.Date ? 1 : 0));
    const page = paginate(events, input, 'DescribeEvents');
    return { Events: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
  },

  DescribeEventCategories(input: DescribeEventCategoriesMessage) {
    checkSourceType(input.SourceType);
    const groups = Object.entries(EVENT_CATEGORIES)
      .filter(([type]) => input.SourceType === undefined || type === input.SourceType)
      .map(([SourceType, cats]) => ({ SourceType, EventCategories: [...cats] }));
    return {
      EventCategoryGroupList: applyFilters(groups, input.Filters as Filter[] | undefined, { 'source-type': (g) => g.SourceType }),
    };
  },
};
