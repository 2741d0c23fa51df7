// STS AssumeRole and GetCallerIdentity over the awsQuery protocol (form POST, XML), so cross-account
// configurations (roleArn, externalId) work against the simulated endpoint. The access key AssumeRole
// hands out names the account (ASIA<12 digits>...), which is how later calls are routed to that account.
import { randomBytes, randomUUID } from "node:crypto";
import { SimAwsError, xmlEscape } from "./protocol.js";

export const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

export interface StsAccount {
  accountId: string;
  externalId?: string;
}

let issued = 0;

/** The account an access key belongs to, if the sim issued it. */
export function accountOfKey(accessKeyId: string | undefined): string | undefined {
  return /^ASIA(\d{12})/.exec(accessKeyId ?? "")?.[1];
}

export function handleSts(
  operation: string,
  params: Record<string, unknown>,
  caller: { accountId: string; accessKeyId?: string },
  accounts: Map<string, StsAccount>,
  now: number,
): string {
  const requestId = `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`;
  if (operation === "GetCallerIdentity") {
    return (
      `<GetCallerIdentityResponse xmlns="${STS_XMLNS}"><GetCallerIdentityResult>` +
      `<Arn>arn:aws:iam::${caller.accountId}:user/sim</Arn><UserId>AIDASIM</UserId><Account>${caller.accountId}</Account>` +
      `</GetCallerIdentityResult>${requestId}</GetCallerIdentityResponse>`
    );
  }
  if (operation !== "AssumeRole")
    throw new SimAwsError(
      "InvalidAction",
      `The simulated STS endpoint implements AssumeRole and GetCallerIdentity, not ${operation}.`,
    );
  const roleArn = String(params.RoleArn ?? "");
  const session = String(params.RoleSessionName ?? "");
  const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
  if (!m) throw new SimAwsError("ValidationError", `${roleArn} is invalid`);
  if (!/^[\w+=,.@-]{2,64}$/.test(session))
    throw new SimAwsError("ValidationError", "RoleSessionName is invalid");
  const target = accounts.get(m[1]!);
  const denied = new SimAwsError(
    "AccessDenied",
    `User: arn:aws:iam::${caller.accountId}:user/sim is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    403,
  );
  if (!target) throw denied;
  if (target.externalId !== undefined && params.ExternalId !== target.externalId) throw denied;
  const duration = Number(params.DurationSeconds ?? 3600);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200)
    throw new SimAwsError("ValidationError", "DurationSeconds must be between 900 and 43200");
  const accessKeyId = `ASIA${target.accountId}${(issued++ % 46656).toString(36).toUpperCase().padStart(4, "0")}`;
  const expiration = new Date(now + duration * 1000).toISOString();
  const roleName = m[2]!.split("/").pop()!;
  return (
    `<AssumeRoleResponse xmlns="${STS_XMLNS}"><AssumeRoleResult>` +
    `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId>` +
    `<SecretAccessKey>${randomBytes(30).toString("base64")}</SecretAccessKey>` +
    `<SessionToken>${randomBytes(60).toString("base64")}</SessionToken>` +
    `<Expiration>${expiration}</Expiration></Credentials>` +
    `<AssumedRoleUser><Arn>arn:aws:sts::${target.accountId}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(session)}</Arn>` +
    `<AssumedRoleId>AROASIM${target.accountId}:${xmlEscape(session)}</AssumedRoleId></AssumedRoleUser>` +
    `</AssumeRoleResult>${requestId}</AssumeRoleResponse>`
  );
}
