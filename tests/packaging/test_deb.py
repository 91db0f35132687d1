# The .deb: CPack builds it from the build tree, `dpkg-deb -c` lists the files a Debian 12 system
# expects, the control fields declare the libraries and the maintainer scripts, and the packaged
# binary checks the packaged configuration.
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

EXPECTED_FILES = {
    "./usr/sbin/ringlb",
    "./etc/ringlb/ringlb.toml",
    "./lib/systemd/system/ringlb.service",
    "./usr/lib/sysusers.d/ringlb.conf",
    "./usr/lib/tmpfiles.d/ringlb.conf",
    "./etc/logrotate.d/ringlb",
    "./usr/share/man/man8/ringlb.8",
    "./usr/share/doc/ringlb/example.toml",
    "./usr/share/doc/ringlb/README.md",
} | {  # every page of docs/, which the README links to
    f"./usr/share/doc/ringlb/docs/{page.name}"
    for page in (Path(__file__).resolve().parents[2] / "docs").glob("*.md")
}
LIBRARIES = ("liburing2", "libtomlplusplus3", "libssl3", "libsystemd0", "libxxhash0",
             "libnghttp2-14")


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL, **kwargs)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build = os.environ.get("RINGLB_BUILD_DIR")
        if not build:
            raise unittest.SkipTest("RINGLB_BUILD_DIR is not set")
        for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"{tool} is missing (scripts/install-deps.sh installs "
                                        f"cmake and dpkg-dev)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="ringlb-deb-")
        result = run("cpack", "-G", "DEB", "-B", cls.tmp.name,
                     "--config", str(Path(build) / "CPackConfig.cmake"))
        if result.returncode != 0:
            cls.tmp.cleanup()
            raise AssertionError(f"cpack failed:\n{result.stdout}\n{result.stderr}")
        debs = list(Path(cls.tmp.name).glob("*.deb"))
        if len(debs) != 1:
            cls.tmp.cleanup()
            raise AssertionError(f"cpack made {debs}, not one .deb")
        cls.deb = str(debs[0])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def field(self, name: str) -> str:
        result = run("dpkg-deb", "--field", self.deb, name)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def test_contents_are_the_expected_files(self):
        result = run("dpkg-deb", "--contents", self.deb)
        self.assertEqual(result.returncode, 0, result.stderr)
        print("\n" + result.stdout)
        listed = {line.split()[-1] for line in result.stdout.splitlines()
                  if not line.startswith("d")}
        self.assertEqual(listed, EXPECTED_FILES)
        binary = [line for line in result.stdout.splitlines() if line.endswith("sbin/ringlb")]
        self.assertTrue(binary[0].startswith("-rwxr-xr-x root/root"), binary[0])

    def test_control_declares_dependencies_and_scripts(self):
        self.assertEqual(self.field("Package"), "ringlb")
        depends = self.field("Depends")
        for library in LIBRARIES:
            self.assertRegex(depends, rf"(^|, ){library}\b", f"Depends: {depends}")
        self.assertIn("systemd | adduser", depends)
        with tempfile.TemporaryDirectory(prefix="ringlb-control-") as control:
            result = run("dpkg-deb", "--control", self.deb, control)
            self.assertEqual(result.returncode, 0, result.stderr)
            conffiles = (Path(control) / "conffiles").read_text().split()
            self.assertEqual(conffiles, ["/etc/ringlb/ringlb.toml", "/etc/logrotate.d/ringlb"])
            for script in ("postinst", "prerm", "postrm"):
                path = Path(control) / script
                self.assertTrue(os.access(path, os.X_OK), f"{script} is not executable")
                syntax = run("sh", "-n", str(path))
                self.assertEqual(syntax.returncode, 0, syntax.stderr)
            postinst = (Path(control) / "postinst").read_text()
        self.assertIn("systemd-sysusers", postinst)
        self.assertIn("adduser --system", postinst)
        self.assertNotIn("enable --now ringlb.service", postinst)

    def test_packaged_binary_checks_packaged_config(self):
        with tempfile.TemporaryDirectory(prefix="ringlb-unpacked-") as root:
            result = run("dpkg-deb", "--extract", self.deb, root)
            self.assertEqual(result.returncode, 0, result.stderr)
            check = run(f"{root}/usr/sbin/ringlb", "--check", "-c",
                        f"{root}/etc/ringlb/ringlb.toml")
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("configuration OK", check.stdout)


if __name__ == "__main__":
    unittest.main()
