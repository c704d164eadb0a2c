/**
 * Access tokens, hourly: the organization's tokens by expiry (`ListOrgTokens`), and when the exporter's own token
 * expires (`GetCurrentUser`'s `tokenInfo`, then the list holding that token). Token lists need admin rights: a 403
 * switches the family off for the organization, reported once, and it is tried again a day later.
 */
import type { AccessTokenItem, PulumiApi, TokenInfo } from "../../pulumi/api.ts";
import { PulumiApiError } from "../../pulumi/pulumi-api-error.ts";
import { TOKEN_EXPIRY } from "../label-values.ts";
import type { OrgSource, StateCodec } from "../source.ts";
import { type DropTally, describeValue, isCount, isRecord, type Raw } from "../state-check.ts";

const DAY_SECONDS = 86_400;
export const TOKENS_INTERVAL_MS = 3_600_000;
/** How long a 403 switches the family off for the organization. */
export const TOKENS_FORBIDDEN_RETRY_MS = 24 * 3_600_000;

export type TokenExpiry = (typeof TOKEN_EXPIRY)[number];

export type TokensState =
  | {
      readonly counts: Readonly<Record<TokenExpiry, number>>;
      /** Unix seconds; undefined when the exporter's token is not this organization's, never expires, or is unseen. */
      readonly exporterExpires: number | undefined;
    }
  /** Forbidden (403): nothing is read or exported for the organization until `offUntilMs` (epoch ms). */
  | { readonly offUntilMs: number };

export function expiryOf(expires: number, nowSeconds: number): TokenExpiry {
  if (expires === 0) return "never";
  if (expires <= nowSeconds) return "expired";
  if (expires <= nowSeconds + 7 * DAY_SECONDS) return "within_7d";
  if (expires <= nowSeconds + 30 * DAY_SECONDS) return "within_30d";
  return "later";
}

export function countByExpiry(
  tokens: readonly AccessTokenItem[],
  nowSeconds: number,
): Record<TokenExpiry, number> {
  const counts = Object.fromEntries(TOKEN_EXPIRY.map((e) => [e, 0])) as Record<TokenExpiry, number>;
  for (const token of tokens) counts[expiryOf(token.expires, nowSeconds)]++;
  return counts;
}

/**
 * The list that holds the exporter's token, when it belongs to `org` (a team's or the organization's), or is a
 * personal one (no organization, no team); undefined when it is another organization's.
 */
async function ownTokenList(
  api: PulumiApi,
  org: string,
  info: TokenInfo,
  orgTokens: readonly AccessTokenItem[],
): Promise<readonly AccessTokenItem[] | undefined> {
  if (info.organization === "" && info.team === "") return api.listPersonalTokens();
  if (info.organization !== org) return undefined;
  return info.team === "" ? orgTokens : api.listTeamTokens(org, info.team);
}

async function exporterExpiry(
  api: PulumiApi,
  org: string,
  orgTokens: readonly AccessTokenItem[],
): Promise<number | undefined> {
  const info = await api.getTokenInfo();
  if (!info) return undefined;
  const list = await ownTokenList(api, org, info, orgTokens);
  const expires = list?.find((token) => token.name === info.name)?.expires;
  return expires === 0 ? undefined : expires;
}

const isForbidden = (error: unknown): boolean => error instanceof PulumiApiError && error.status === 403;

function checkCounts(raw: Raw, where: string, tally: DropTally): TokensState | undefined {
  const counts = isRecord(raw.counts) ? raw.counts : undefined;
  if (counts === undefined || !TOKEN_EXPIRY.every((expiry) => isCount(counts[expiry]))) {
    tally.note("orgs", `${where}.counts must hold a count for each of ${TOKEN_EXPIRY.join(", ")}`);
    return undefined;
  }
  let exporterExpires: number | undefined;
  if (isCount(raw.exporterExpires)) exporterExpires = raw.exporterExpires;
  else if (raw.exporterExpires !== undefined)
    tally.note(
      "values",
      `${where}.exporterExpires must be Unix seconds (was ${describeValue(raw.exporterExpires)})`,
    );
  const checked = Object.fromEntries(TOKEN_EXPIRY.map((expiry) => [expiry, counts[expiry]]));
  return { counts: checked as Record<TokenExpiry, number>, exporterExpires };
}

/**
 * The counts, or the off state after a 403, cross a restart with the hourly cadence: a restarted exporter neither
 * warns again about an organization it may not read nor asks before the day is over.
 */
export const tokensCodec: StateCodec<TokensState> = {
  save: (state) =>
    "offUntilMs" in state ? { offUntilMs: state.offUntilMs } : { ...state, counts: { ...state.counts } },
  load(raw, where, tally) {
    if (!isRecord(raw)) {
      tally.note("orgs", `${where} must be an object (was ${describeValue(raw)})`);
      return undefined;
    }
    if (!("offUntilMs" in raw)) return checkCounts(raw, where, tally);
    if (isCount(raw.offUntilMs)) return { offUntilMs: raw.offUntilMs };
    tally.note(
      "orgs",
      `${where}.offUntilMs must be epoch milliseconds (was ${describeValue(raw.offUntilMs)})`,
    );
    return undefined;
  },
};

export const tokensSource: OrgSource<TokensState, never> = {
  name: "tokens",
  scope: "org",
  family: "tokens",
  operations: ["ListOrgTokens", "GetCurrentUser", "ListTeamTokens", "ListPersonalTokens"],
  cadence: { everyMs: TOKENS_INTERVAL_MS },
  calls:
    "1 `ListOrgTokens` + 1 `GetCurrentUser` per org, + 1 `ListTeamTokens` or `ListPersonalTokens` for a team or personal token; none for a day after a 403",
  feeds: ["pulumi_org_access_tokens", "pulumi_exporter_access_token_expiry_timestamp_seconds"],
  persist: tokensCodec,
  async run({ api, org, previous, now }) {
    if (previous && "offUntilMs" in previous && now.getTime() < previous.offUntilMs)
      return { state: previous, idle: true };
    let tokens: AccessTokenItem[];
    try {
      tokens = await api.listOrgTokens(org);
    } catch (error) {
      if (!isForbidden(error)) throw error;
      return { state: { offUntilMs: now.getTime() + TOKENS_FORBIDDEN_RETRY_MS }, failure: error };
    }
    const counts = countByExpiry(tokens, Math.floor(now.getTime() / 1000));
    return { state: { counts, exporterExpires: await exporterExpiry(api, org, tokens) } };
  },
};
