/**
 * The tool's name and version, as reported by `--version`, in User-Agent headers and in SBOM/provenance
 * metadata. A test keeps VERSION equal to deno.json's "version".
 *
 * @module
 */

/** Name of the tool. */
export const TOOL_NAME = "ecrimagemetadataextractor";
/** Version of the tool (semver). */
export const VERSION = "0.3.0";
/** The project's home, used in URIs that name the tool (buildType, property namespace). */
export const PROJECT_URL = "https://github.com/Vasu77df/ecrimagemetadataextractor";
