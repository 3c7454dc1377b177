import { fetcherCases, helloCases } from "./cases.js";

helloCases("hello");
fetcherCases("fetcher");
