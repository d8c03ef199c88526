import { Page } from "../ui";

export default function AutoReply() {
  return <Page title="AutoReply"><p>Loading…</p></Page>;
}
