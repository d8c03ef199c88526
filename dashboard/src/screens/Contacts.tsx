import { Page } from "../ui";

export default function Contacts() {
  return <Page title="Contacts"><p>Loading…</p></Page>;
}
