// The part of the ECS client the bridge calls: its client, the operations ECS discovery makes and the
// error it tells apart. From sources (tests, tsx) this re-exports the whole package; `npm run build`
// (scripts/build.mjs) replaces the compiled file with an esbuild bundle of just these exports, their
// schemas and commands, its other dependencies left external (as core/sdk/ec2.ts).
export {
  ClusterNotFoundException,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  paginateListClusters,
  paginateListServices,
  paginateListTasks,
} from "@aws-sdk/client-ecs";
