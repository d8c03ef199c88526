import { Page } from "../ui";

export default function Admin() {
  return <Page title="Admin"><p>Loading…</p></Page>;
}
