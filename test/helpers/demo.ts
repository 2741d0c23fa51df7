// The demo estate (cmd/demo's scenario) with a skip to show: the web service's tasks gain an "envoy"
// sidecar without opt-in labels, so the bridge records it as skipped (no_opt_in).
import { defaultScenarioFile } from "../../cmd/demo.js";
import { loadScenario, type Scenario } from "../../sim/index.js";

export function demoWithUnlabelledSidecar(): Scenario {
  const scenario = loadScenario(defaultScenarioFile());
  const web = scenario.taskDefinitions!.find((d) => d.family === "web")!;
  web.containerDefinitions!.push({
    name: "envoy",
    image: "envoy:1",
    portMappings: [{ containerPort: 9901 }],
  });
  return scenario;
}
