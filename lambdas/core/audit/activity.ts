/**
 * What the audit review reads: CloudTrail records of a grant's use, in one shape whatever the source
 * (LookupEvents' `CloudTrailEvent` JSON, a row of the Athena table over the organization trail, the local
 * fake). Pure types: the sources are adapters behind the `Activity` port.
 */

/** One CloudTrail record, as the review reads it. */
export interface ActivityEvent {
  /** CloudTrail's `eventID`: the same call seen by two sources has the same id (the review keeps one). */
  readonly eventId: string;
  /** ISO 8601 (`eventTime`). */
  readonly eventTime: string;
  /** `s3.amazonaws.com`. */
  readonly eventSource: string;
  /** `GetObject`. */
  readonly eventName: string;
  readonly awsRegion: string;
  /** The account the call was made in (`recipientAccountId`). */
  readonly recipientAccountId: string;
  /** `Management` (LookupEvents and trails) or `Data` (trails only: S3 object, DynamoDB item, …). */
  readonly eventCategory: 'Management' | 'Data';
  readonly readOnly?: boolean;
  readonly userIdentity: {
    /** `AssumedRole`, `IAMUser`, … */
    readonly type?: string;
    /** `arn:aws:sts::<acct>:assumed-role/<role>/<session>` or `arn:aws:iam::<acct>:user/<name>`. */
    readonly arn?: string;
    /** `<roleId>:<sessionName>` for a role session (`aws:userid`). */
    readonly principalId?: string;
    /** `ASIA…` for temporary credentials. */
    readonly accessKeyId?: string;
    /** `userIdentity.sessionContext.sourceIdentity`. */
    readonly sourceIdentity?: string;
  };
  readonly sourceIPAddress?: string;
  readonly userAgent?: string;
  /** the error code CloudTrail recorded for a refused or failed call; absent when it succeeded. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
  /** ARNs the record names (`resources[].ARN`), when it lists them. */
  readonly resources: readonly string[];
}

/** The event classes a source can see: LookupEvents sees management events only. */
export type EventClass = 'management' | 'data';

/** What to look for: one grant's correlation keys in its target account, over the search window. */
export interface ActivityQuery {
  readonly requestId: string;
  /** The target account (the grantor role there reads its CloudTrail). */
  readonly account: string;
  /** ISO 8601: the grant's start. */
  readonly start: string;
  /** ISO 8601: the last moment a call made with the grant could still be delivered. */
  readonly end: string;
  /** The target principal (role or user ARN, path included). */
  readonly principalArn: string;
  /** Credentials grants: the session's access key id (`ASIA…`), the way LookupEvents finds them. */
  readonly accessKeyId?: string;
  /** Credentials grants: `jit-<id>`. */
  readonly sessionName?: string;
  readonly sourceIdentity?: string;
  /** Credentials grants: the role's unique id (`AROA…`). */
  readonly roleId?: string;
  /** CloudTrail event sources of the granted services (`s3.amazonaws.com`), for inline grants. */
  readonly eventSources: readonly string[];
  /**
   * ISO 8601: the sources stop reading at this moment and report what they read, with an error saying
   * so (an on-demand review answers within the API's time; the stored review reads without a budget).
   */
  readonly readBy?: string;
}

/** One source consulted for a review: what it can see and what it cost. */
export interface SourceReport {
  /** `cloudtrail:<account>:<region>`, `athena:<database>.<table>`, `local-cloudtrail:<account>`. */
  readonly name: string;
  readonly eventClasses: readonly EventClass[];
  /** API calls made to the source (LookupEvents pages, Athena query executions and result pages). */
  readonly calls: number;
  /** Records the source returned before the review's own matching. */
  readonly events: number;
  /** Set when the source failed: the review is then incomplete and says so. */
  readonly error?: string;
}

/** What the sources returned for one query. */
export interface ActivityResult {
  readonly events: readonly ActivityEvent[];
  readonly sources: readonly SourceReport[];
}

/** CloudTrail's event source for an IAM service prefix (`s3` → `s3.amazonaws.com`). */
export function eventSourceOf(service: string): string {
  const special: Record<string, string> = {
    'execute-api': 'execute-api.amazonaws.com',
    monitoring: 'monitoring.amazonaws.com',
    es: 'es.amazonaws.com',
  };
  return special[service] ?? `${service}.amazonaws.com`;
}

/** The IAM action a record is (`s3.amazonaws.com` + `GetObject` → `s3:GetObject`). */
export function actionOf(event: Pick<ActivityEvent, 'eventSource' | 'eventName'>): string {
  return `${event.eventSource.replace(/\.amazonaws\.com$/, '')}:${event.eventName}`;
}

/**
 * CloudTrail event names that are not the IAM action that authorizes them (the S3 list and head calls,
 * multipart uploads), by `service:EventName`.
 */
const AUTHORIZED_BY: Readonly<Record<string, readonly string[]>> = {
  's3:ListObjects': ['s3:ListBucket'],
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:ListObjectVersions': ['s3:ListBucketVersions'],
  's3:HeadObject': ['s3:GetObject'],
  's3:DeleteObjects': ['s3:DeleteObject'],
  's3:CreateMultipartUpload': ['s3:PutObject'],
  's3:UploadPart': ['s3:PutObject'],
  's3:CompleteMultipartUpload': ['s3:PutObject'],
  's3:UploadPartCopy': ['s3:PutObject'],
  's3:CopyObject': ['s3:PutObject'],
  'lambda:Invoke': ['lambda:InvokeFunction'],
};

/**
 * The IAM actions that may have authorized a record, most likely first: the event name itself, the
 * known renames above, and Lambda's dated API versions (`GetFunction20150331v2` → `lambda:GetFunction`).
 */
export function iamActionsOf(event: Pick<ActivityEvent, 'eventSource' | 'eventName'>): string[] {
  const direct = actionOf(event);
  const [service = '', name = ''] = direct.split(':');
  const undated = name.replace(/\d{8}(?:v\d+)?$/, '');
  const candidates = [direct, ...(undated !== name ? [`${service}:${undated}`] : [])];
  return [...new Set(candidates.flatMap((a) => [a, ...(AUTHORIZED_BY[a] ?? [])]))];
}

/**
 * One `Activity` over several sources, asked in parallel: records seen by more than one (the same
 * `eventId`) are kept once, a failed source is reported and the others still count.
 */
export function combineSources(sources: readonly { find(query: ActivityQuery): Promise<ActivityResult> }[]): {
  find(query: ActivityQuery): Promise<ActivityResult>;
} {
  return {
    async find(query) {
      const results = await Promise.all(sources.map((s) => s.find(query)));
      const byId = new Map<string, ActivityEvent>();
      for (const result of results) {
        for (const event of result.events) if (!byId.has(event.eventId)) byId.set(event.eventId, event);
      }
      return {
        events: [...byId.values()].sort((a, b) => a.eventTime.localeCompare(b.eventTime)),
        sources: results.flatMap((r) => r.sources),
      };
    },
  };
}
