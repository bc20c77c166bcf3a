/* boot.c — the first program of every fcm guest: PID 1 until the overlay
 * root exists and the system's file systems are mounted (doc/guest.md).
 *
 * It starts with the base image mounted read-only as / and devtmpfs on /dev:
 * with the fcm kernel (every driver built in) the base is Firecracker's root
 * device (vda, "root=/dev/vda ro") and this program is init=; with a kernel
 * that needs modules (the Debian flavour), its initramfs loads them, mounts
 * the base and hands over to this program.  It
 *
 *   1. finds the VM's own disk by its ext4 label "fcm-disk" (the drive order
 *      is not relied on),
 *   2. mounts it on /var/lib/fcm/disk and makes upper/ and work/ on it,
 *   3. mounts the overlay lower=/ (the base), upper=disk/upper on /mnt,
 *   4. moves /var/lib/fcm/disk and /dev into it, pivots into it with the base
 *      ending up on /var/lib/fcm/base,
 *   5. mounts /run, /proc, /sys, /dev/pts, /dev/shm and /tmp,
 *   6. execs the guest init, /usr/local/lib/fcm/init.
 *
 * A handful of system calls where a shell would start a dozen programs.
 * Built static by rootfs/build; it runs before any library is reachable.  On
 * failure it says why on the console, waits 5 s (so the line reaches the VM's
 * log) and reboots: with reboot=k Firecracker then exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BASE_LABEL "fcm-base"
#define DISK_LABEL "fcm-disk"
#define DISK_DIR "/var/lib/fcm/disk"
#define NEWROOT "/mnt"
#define GUEST_INIT "/usr/local/lib/fcm/init"

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n = snprintf(buf, sizeof buf, "fcm-boot: ");

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
}

static void fatal(const char *fmt, const char *arg)
{
	int e = errno;

	say("fatal: %s%s: %s", fmt, arg ? arg : "", strerror(e));
	say("rebooting in 5 s");
	sleep(5);
	sync();
	reboot(RB_AUTOBOOT);
	_exit(111);
}

/* Is dev an ext4 (or ext2/3) file system labelled label?  The label is
 * s_volume_name (16 bytes at 0x78) of the superblock at byte 1024; the magic
 * 0xEF53 is at 0x38. */
static int has_label(const char *dev, const char *label)
{
	unsigned char sb[256];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, sb, sizeof sb, 1024);
	close(fd);
	if (n != (ssize_t)sizeof sb || sb[0x38] != 0x53 || sb[0x39] != 0xEF)
		return 0;
	return strncmp((const char *)sb + 0x78, label, 16) == 0;
}

/* The first of /dev/vda../dev/vdz labelled label, waiting up to 5 s for
 * devices that are still being probed; NULL if none. */
static const char *find_by_label(const char *label, char dev[16])
{
	for (int tries = 0; tries < 500; tries++) {
		for (char c = 'a'; c <= 'z'; c++) {
			snprintf(dev, 16, "/dev/vd%c", c);
			if (has_label(dev, label))
				return dev;
		}
		usleep(10000);
	}
	return NULL;
}

/* The file systems every Linux system expects, in the new root. */
static void mount_system(void)
{
	static const struct {
		const char *what, *where, *type, *opts;
		unsigned long flags;
	} m[] = {
		{ "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV },
		{ "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666", MS_NOSUID | MS_NOEXEC },
		{ "tmpfs", "/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV },
		{ "tmpfs", "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV },
	};
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		if (mkdir(m[i].where, 0755) < 0 && errno != EEXIST)
			fatal("unable to create ", m[i].where);
		if (mount(m[i].what, m[i].where, m[i].type, m[i].flags, m[i].opts) < 0)
			fatal("unable to mount ", m[i].where);
	}
	/* /dev/ptmx is a device node on devtmpfs already: kept. */
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			fatal("unable to link ", links[i][1]);
	if ((mkdir("/run/lock", 0755) < 0 && errno != EEXIST) ||
	    (mkdir("/run/sshd", 0755) < 0 && errno != EEXIST))
		fatal("unable to create /run/lock and /run/sshd", NULL);
}

int main(void)
{
	char base[16], disk[16];
	char *guest_argv[] = { GUEST_INIT, NULL };

	/* The kernel mounts devtmpfs on /dev (CONFIG_DEVTMPFS_MOUNT), or the
	 * initramfs moved its own there; else it is mounted here. */
	if (access("/dev/null", F_OK) < 0 &&
	    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0)
		fatal("unable to mount /dev", NULL);
	if (!find_by_label(DISK_LABEL, disk)) {
		errno = ENODEV;
		fatal("unable to find the VM disk (an ext4 disk labelled " DISK_LABEL ")", NULL);
	}
	if (!find_by_label(BASE_LABEL, base))
		snprintf(base, sizeof base, "?");
	say("base %s, disk %s", base, disk);
	if (mount(disk, DISK_DIR, "ext4", MS_NOATIME, "noinit_itable") < 0)
		fatal("unable to mount the VM disk ", disk);
	if ((mkdir(DISK_DIR "/upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(DISK_DIR "/work", 0755) < 0 && errno != EEXIST))
		fatal("unable to create upper/ and work/ on the VM disk", NULL);
	if (mount("overlay", NEWROOT, "overlay", 0,
	    "lowerdir=/,upperdir=" DISK_DIR "/upper,workdir=" DISK_DIR "/work") < 0)
		fatal("unable to mount the overlay root", NULL);
	if (mount(DISK_DIR, NEWROOT DISK_DIR, NULL, MS_MOVE, NULL) < 0)
		fatal("unable to move the disk mount", NULL);
	if (mount("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL) < 0)
		fatal("unable to move /dev", NULL);
	if (chdir(NEWROOT) < 0)
		fatal("unable to enter the overlay root", NULL);
	/* The base (the old root) ends up on /var/lib/fcm/base. */
	if (syscall(SYS_pivot_root, ".", "var/lib/fcm/base") < 0)
		fatal("unable to switch to the overlay root (pivot_root)", NULL);
	if (chroot(".") < 0 || chdir("/") < 0)
		fatal("unable to switch to the overlay root (chroot)", NULL);
	mount_system();
	say("overlay root and system mounts ready");
	execv(GUEST_INIT, guest_argv);
	fatal("unable to run ", GUEST_INIT);
	return 111;
}
