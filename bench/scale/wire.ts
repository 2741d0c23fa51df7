// The CPU floor of a steady refresh's AWS calls: the ListTasks walks and DescribeTasks batches the bridge
// makes when nothing changed, sent with node's http module alone (keep-alive sockets, SigV4 signed with
// node:crypto, paced by the bridge's own token bucket for ECS's documented bucket, a throttled call sent
// again). Answers are read as text; only
// ListTasks pages are parsed (the ARNs and the next token are needed to go on). No SDK, no caching, no
// mapping: what any client must spend to ask these questions and receive the answers.
import { createHash, createHmac } from "node:crypto";
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { AWS_BUCKETS, Bucket } from "../../core/pacer.js";

const REGION = "us-east-1";
const ECS_TARGET = "AmazonEC2ContainerServiceV20141113";
/** ECS's cluster-resource-read bucket (ListTasks and DescribeTasks share it), as the bridge's pacer knows it. */
const READ_BUCKET = AWS_BUCKETS.ecs.find((b) => b.name === "ecs:cluster-resource-read")!;
/** In flight at once, as the bridge's pacer allows per bucket by default. */
const MAX_IN_FLIGHT = 4;
const BATCH = 100;

export interface WireCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const sha256Hex = (data: string) => createHash("sha256").update(data).digest("hex");

export class WireClient {
  private readonly agent = new Agent({ keepAlive: true });
  private readonly url: URL;
  /** The pacer's token bucket with its bound on calls in flight (core/pacer.ts), as the bridge paces. */
  private readonly bucket = new Bucket(READ_BUCKET, MAX_IN_FLIGHT);
  private signingKey: { date: string; key: Buffer } | undefined;

  constructor(
    endpoint: string,
    private readonly credentials: WireCredentials,
  ) {
    this.url = new URL(endpoint);
  }

  /** SigV4 headers for one ECS JSON call (the signing key is derived once a day, as the SDK caches it). */
  private headers(operation: string, body: string): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
    const date = amzDate.slice(0, 8);
    if (this.signingKey?.date !== date) {
      const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
      const kDate = hmac(`AWS4${this.credentials.secretAccessKey}`, date);
      this.signingKey = { date, key: hmac(hmac(hmac(kDate, REGION), "ecs"), "aws4_request") };
    }
    const headers: Record<string, string> = {
      "content-type": "application/x-amz-json-1.1",
      host: this.url.host,
      "x-amz-date": amzDate,
      "x-amz-target": `${ECS_TARGET}.${operation}`,
    };
    const names = Object.keys(headers);
    const canonical = [
      "POST",
      "/",
      "",
      ...names.map((n) => `${n}:${headers[n]}`),
      "",
      names.join(";"),
      sha256Hex(body),
    ].join("\n");
    const scope = `${date}/${REGION}/ecs/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac("sha256", this.signingKey.key).update(toSign).digest("hex");
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(";")}, Signature=${signature}`;
    return headers;
  }

  /**
   * One call, paced and bounded; the answer's text. A request can still reach AWS a little ahead of its
   * token (answers and sends do not keep the pacing's spacing), so a throttled call is sent again, as an
   * SDK would; the bench counts the throttles from the simulator's log.
   */
  private async call(operation: string, input: object): Promise<string> {
    for (;;) {
      await this.bucket.acquire();
      const answer = await this.send(operation, input).finally(() => this.bucket.release());
      if (answer.status === 200) return answer.text;
      if (!answer.text.includes("ThrottlingException"))
        throw new Error(`${operation}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      await sleep(1000 / READ_BUCKET.refillPerSecond);
    }
  }

  private send(operation: string, input: object): Promise<{ status: number; text: string }> {
    const body = JSON.stringify(input);
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        { method: "POST", agent: this.agent, headers: this.headers(operation, body) },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** The cluster's ListTasks walk (pages one after another), then DescribeTasks for the `due` tasks; the count. */
  async cluster(cluster: string, due: (taskArn: string) => boolean = () => true): Promise<number> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = JSON.parse(
        await this.call("ListTasks", {
          cluster,
          desiredStatus: "RUNNING",
          maxResults: BATCH,
          ...(nextToken ? { nextToken } : {}),
        }),
      ) as { taskArns?: string[]; nextToken?: string };
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const described = arns.filter(due);
    const batches: string[][] = [];
    for (let i = 0; i < described.length; i += BATCH) batches.push(described.slice(i, i + BATCH));
    await Promise.all(
      batches.map((tasks) => this.call("DescribeTasks", { cluster, tasks, include: ["TAGS"] })),
    );
    return arns.length;
  }

  close(): void {
    this.agent.destroy();
  }
}
