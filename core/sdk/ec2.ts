// The part of the EC2 client the bridge calls: its client and the two paginators. From sources (tests,
// tsx) this re-exports the whole package; `npm run build` (scripts/build.mjs) replaces the compiled file
// with an esbuild bundle of just these exports, their schemas and commands, its other dependencies left
// external. The package's entry point evaluates every one of EC2's operations: loading it added ~38 MiB
// of RSS to serve two of them; the bundle adds ~12.
export { EC2Client, paginateDescribeInstances, paginateDescribeNetworkInterfaces } from "@aws-sdk/client-ec2";
