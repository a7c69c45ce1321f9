import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { appCsp, serveDist } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
  }
}

export default async function setup(project: TestProject) {
  const ui = resolve(import.meta.dirname, "..");
  const dist = resolve(ui, "dist");
  if (!existsSync(resolve(dist, "index.html"))) throw new Error("ui/dist is missing: run `npm run build` first (npm run e2e does)");
  const { server, url } = await serveDist(dist, appCsp(ui));
  project.provide("baseURL", url);
  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
  };
}
