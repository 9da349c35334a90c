/**
 * A stand-in for the one AWS call the tool makes: ECR's `GetAuthorizationToken` (JSON 1.1 protocol), reached
 * through the AWS SDK's standard `AWS_ENDPOINT_URL_ECR`. It checks that the request is SigV4-signed for the
 * `ecr` service and answers with a token that opens a real registry (Basic `AWS:<password>`).
 *
 * @module
 */

/** A running stand-in. */
export interface EcrApi {
  url: string;
  /** Every GetAuthorizationToken call seen: the region in the signature scope and the registry ids asked for. */
  calls: { region: string; registryIds: string[] }[];
  stop(): Promise<void>;
}

/** Start the stand-in on loopback; it hands out `AWS:<password>` valid for `ttlSeconds`. */
export function startEcrApi(password: string, ttlSeconds = 12 * 3600): EcrApi {
  const calls: EcrApi["calls"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const target = req.headers.get("x-amz-target") ?? "";
    const auth = req.headers.get("authorization") ?? "";
    const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/ecr\/aws4_request/.exec(auth);
    const body = await req.text();
    if (!scope) {
      return Response.json({ __type: "UnrecognizedClientException", message: "missing SigV4 signature" }, {
        status: 403,
      });
    }
    if (target !== "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken") {
      return Response.json({ __type: "UnknownOperationException" }, { status: 400 });
    }
    const input = JSON.parse(body || "{}");
    calls.push({ region: scope[1], registryIds: input.registryIds ?? [] });
    const token = btoa(`AWS:${password}`);
    return new Response(
      JSON.stringify({
        authorizationData: [{
          authorizationToken: token,
          expiresAt: Math.floor(Date.now() / 1000) + ttlSeconds,
          proxyEndpoint: `https://${input.registryIds?.[0] ?? "000000000000"}.dkr.ecr.${
            scope[1]
          }.amazonaws.com`,
        }],
      }),
      { headers: { "content-type": "application/x-amz-json-1.1" } },
    );
  });
  const addr = server.addr as Deno.NetAddr;
  return { url: `http://127.0.0.1:${addr.port}`, calls, stop: () => server.shutdown() };
}
