/**
 * CycloneDX 1.6 `formulation` (how the artifacts were made): one formula holding the build container as a
 * component and one workflow for the build, whose one task ran in that container (`runtimeTopology`, when
 * that is known) and produced the artifacts (`outputs`). Written as JSON (an object for the BOM's
 * `formulation` array) and as XML (elements in the order bom-1.6.xsd requires); the container component is
 * passed in already written for each format (`cyclonedx_nodes.ts`).
 *
 * @module
 */

import { el } from "./cyclonedx_nodes.ts";
import type { XmlElement } from "./xml.ts";

/** The build, as a workflow of one task. */
export interface BuildWorkflow {
  /** `bom-ref` of the formula. */
  formulaRef: string;
  /** `bom-ref` of the workflow and of its task. */
  workflowRef: string;
  taskRef: string;
  /** The build's unique id (the CodeBuild build ARN, or a content-derived URN outside CodeBuild). */
  uid: string;
  name: string;
  /** When the build started, RFC 3339 (CodeBuild's start time), if known. */
  timeStart?: string;
  /** `bom-ref` of the build container component. */
  containerRef: string;
  /**
   * The build ran in that container: it is the task's and workflow's runtime (`runtimeTopology`). False when
   * that is not known (in CodeBuild, an image other than the one the build runs in): then it is only a resource.
   */
  ranIn: boolean;
  /** `bom-ref`s of the artifacts the build produced. */
  outputs: string[];
  /** The build's source, if known: a VCS URL (credentials removed) and its commit. */
  source?: { url: string; commit?: string };
  /** Extra properties of the workflow (name, value). */
  properties: [string, string][];
}

const ref = (r: string) => ({ ref: r });

/**
 * The formula as JSON (an element of the BOM's `formulation` array), with `container` the build container
 * component as JSON.
 */
export function formulationJson(w: BuildWorkflow, container: unknown): Record<string, unknown> {
  const task: Record<string, unknown> = {
    "bom-ref": w.taskRef,
    uid: `${w.uid}#build`,
    name: "build",
    resourceReferences: [ref(w.containerRef)],
    taskTypes: ["build"],
  };
  if (w.source) {
    task.inputs = [{ resource: { externalReference: { type: "vcs", url: w.source.url } } }];
  }
  task.outputs = w.outputs.map((o) => ({ type: "artifact", resource: ref(o) }));
  if (w.timeStart) task.timeStart = w.timeStart;
  if (w.ranIn) task.runtimeTopology = [ref(w.containerRef)];
  const workflow: Record<string, unknown> = {
    "bom-ref": w.workflowRef,
    uid: w.uid,
    name: w.name,
    resourceReferences: [ref(w.containerRef)],
    tasks: [task],
    taskTypes: ["build"],
  };
  if (w.timeStart) workflow.timeStart = w.timeStart;
  if (w.ranIn) workflow.runtimeTopology = [ref(w.containerRef)];
  if (w.properties.length) workflow.properties = w.properties.map(([name, value]) => ({ name, value }));
  return { "bom-ref": w.formulaRef, components: [container], workflows: [workflow] };
}

const refs = (r: string) => el("resourceReferences", [el("resourceReference", [el("ref", r)])]);
const topology = (r: string) => el("runtimeTopology", [el("dependency", undefined, { ref: r })]);

/**
 * The `<formulation>` element, with `container` the build container component as a `<component>` element.
 */
export function formulationXml(w: BuildWorkflow, container: XmlElement): XmlElement {
  const task: XmlElement[] = [
    el("uid", `${w.uid}#build`),
    el("name", "build"),
    refs(w.containerRef),
    el("taskTypes", [el("taskType", "build")]),
  ];
  if (w.source) {
    task.push(
      el("inputs", [
        el("input", [el("resource", [el("externalReference", [el("url", w.source.url)], { type: "vcs" })])]),
      ]),
    );
  }
  task.push(
    el(
      "outputs",
      w.outputs.map((o) => el("output", [el("resource", [el("ref", o)]), el("type", "artifact")])),
    ),
  );
  if (w.timeStart) task.push(el("timeStart", w.timeStart));
  if (w.ranIn) task.push(topology(w.containerRef));
  const workflow: XmlElement[] = [
    el("uid", w.uid),
    el("name", w.name),
    refs(w.containerRef),
    el("tasks", [el("task", task, { "bom-ref": w.taskRef })]),
    el("taskTypes", [el("taskType", "build")]),
  ];
  if (w.timeStart) workflow.push(el("timeStart", w.timeStart));
  if (w.ranIn) workflow.push(topology(w.containerRef));
  if (w.properties.length) {
    workflow.push(el("properties", w.properties.map(([name, value]) => el("property", value, { name }))));
  }
  return el("formulation", [
    el("formula", [
      el("components", [container]),
      el("workflows", [el("workflow", workflow, { "bom-ref": w.workflowRef })]),
    ], {
      "bom-ref": w.formulaRef,
    }),
  ]);
}
