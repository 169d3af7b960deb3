/**
 * How the AWS CLI names things: botocore's `xform_name`, so `DescribeReplicationTasks` becomes
 * `describe-replication-tasks`, `MultiAZ` becomes `multi-az` and `CdcStartTime` `cdc-start-time`.
 * Scripts written for `aws dms` keep working only if every name matches exactly.
 */
const SPECIAL_PLURAL = /[A-Z]{2,}s$/;
const FIRST_CAP = /(.)([A-Z][a-z]+)/g;
const END_CAP = /([a-z0-9])([A-Z])/g;

/** botocore.xform_name(name, '-') */
export function kebabName(name: string): string {
  if (name.includes('-')) return name;
  let n = name;
  const special = SPECIAL_PLURAL.exec(n);
  // "ARNs" style endings become "-arns" rather than "-ar-ns".
  if (special) n = `${n.slice(0, -special[0].length)}-${special[0].toLowerCase()}`;
  return n.replace(FIRST_CAP, '$1-$2').replace(END_CAP, '$1-$2').toLowerCase();
}
