import "@fontsource-variable/inter/wght.css";
import "./styles/app.css";
import { App } from "./app";

const root = document.getElementById("app");
if (root) {
  const app = new App(root);
  void app.start();
}
