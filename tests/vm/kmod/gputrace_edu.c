// SPDX-License-Identifier: GPL-2.0
/*
 * gputrace_edu - DMA fixture for gputrace's vm test tier.
 *
 * Binds to QEMU's "edu" teaching device (PCI 1234:11e8), which has a real DMA
 * engine and sits behind the emulated VT-d IOMMU, and produces DMA-API events
 * whose outcome the test knows in advance:
 *
 *   xfer=N     N round trips: map a source (to-device) and a destination
 *              (from-device) page, DMA source -> edu buffer -> destination,
 *              unmap both, compare the data.
 *   leak=N     N dma_map_single() mappings that are never unmapped: still
 *              outstanding when the driver is unbound (rmmod).
 *   fault=1    program the edu engine to read from a bus address that is not
 *              mapped: the IOMMU blocks it and reports a DMAR fault.
 *   longlived  one coherent buffer and one streaming mapping held from probe
 *              to remove, released in remove(): never a leak.
 *   leaky=1    default for files opened on /dev/gputrace_edu (see below).
 *
 * /dev/gputrace_edu lets a user process map buffers in its own context:
 * GPUTRACE_EDU_IOC_MAP kmallocs and dma_map_single()s a buffer while the
 * caller is current, so the DMA-API event carries the caller's pid and comm.
 * close() unmaps the file's buffers unless the file is leaky
 * (GPUTRACE_EDU_IOC_SET_LEAKY), in which case they stay mapped after the
 * process has exited.
 *
 * Every mapping is logged with dev_info() ("gputrace_edu: LEAK ..." etc.) so
 * the harness can compare what gputrace reports with what really happened.
 *
 * Memory behind a mapping that is left mapped on purpose is never freed: the
 * IOMMU still translates its bus address, so returning the page to the
 * allocator would let the device scribble on whoever gets it next. A few
 * leaked pages are the price of a sane guest.
 *
 * QEMU 7.2 edu quirks: its DMA mask is 28 bits, a transfer that ends exactly
 * at the end of its 4 KiB buffer aborts QEMU (off-by-one range check), and
 * its DMA engine completes from a 100 ms timer, so transfers are at most
 * 2 KiB and completion is polled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "gputrace_edu_uapi.h"

static int xfer = 4;
module_param(xfer, int, 0444);
MODULE_PARM_DESC(xfer, "correct map/DMA/unmap round trips at probe (default 4)");

static int leak = 3;
module_param(leak, int, 0444);
MODULE_PARM_DESC(leak, "mappings leaked on purpose at probe (default 3)");

static bool fault = true;
module_param(fault, bool, 0444);
MODULE_PARM_DESC(fault, "trigger one IOMMU fault at probe (default 1)");

static bool longlived = true;
module_param(longlived, bool, 0444);
MODULE_PARM_DESC(longlived, "hold a coherent buffer and a streaming mapping until remove (default 1)");

static bool leaky;
module_param(leaky, bool, 0644);
MODULE_PARM_DESC(leaky, "files opened on /dev/gputrace_edu start leaky (default 0)");

#define EDU_REG_ID	0x00
#define EDU_REG_DMA_SRC	0x80
#define EDU_REG_DMA_DST	0x88
#define EDU_REG_DMA_CNT	0x90
#define EDU_REG_DMA_CMD	0x98
#define EDU_CMD_START	BIT(0)
#define EDU_CMD_TO_RAM	BIT(1)	/* direction: edu buffer -> RAM */
#define EDU_BUF_ADDR	0x40000	/* the device's internal 4 KiB buffer */
#define EDU_XFER_MAX	2048	/* see the quirks above */
#define EDU_DMA_BITS	28

/* Never handed out: the IOVA allocator works top-down from the 28-bit mask. */
#define EDU_FAULT_BUS	0x100000ULL

/* One mapping of a kmalloc'ed buffer. */
struct edu_buf {
	struct list_head node;
	void *cpu;
	dma_addr_t bus;
	size_t size;
	enum dma_data_direction dir;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

struct edu_dev {
	struct pci_dev *pdev;
	void __iomem *mmio;
	struct miscdevice misc;
	struct list_head leaked;	/* leak=N mappings, never unmapped */
	struct list_head files;		/* open edu_file's */
	struct list_head orphans;	/* mappings of closed leaky files */
	void *coherent;			/* long-lived coherent buffer */
	dma_addr_t coherent_bus;
	struct edu_buf *streaming;	/* long-lived streaming mapping */
};

struct edu_file {
	struct list_head node;		/* in edu_dev.files */
	struct edu_dev *edu;		/* NULL once the device is gone */
	struct list_head bufs;
	bool leaky;
};

/*
 * One lock for everything: the single edu instance, its lists, open files,
 * and the DMA engine (one transfer at a time). Nothing here is hot.
 */
static DEFINE_MUTEX(edu_lock);
static struct edu_dev *edu_instance;

static const char *dir_name(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return "bidirectional";
	case DMA_TO_DEVICE:
		return "to_device";
	case DMA_FROM_DEVICE:
		return "from_device";
	default:
		return "none";
	}
}

/* Runs one transfer on the edu engine and polls for completion. */
static int edu_dma(struct edu_dev *edu, u64 src, u64 dst, u32 len, u32 cmd)
{
	int i;

	lockdep_assert_held(&edu_lock);
	writeq(src, edu->mmio + EDU_REG_DMA_SRC);
	writeq(dst, edu->mmio + EDU_REG_DMA_DST);
	writeq(len, edu->mmio + EDU_REG_DMA_CNT);
	writeq(cmd | EDU_CMD_START, edu->mmio + EDU_REG_DMA_CMD);
	/* The engine finishes from a 100 ms timer; TCG can be slow, allow 5 s. */
	for (i = 0; i < 500; i++) {
		if (!(readq(edu->mmio + EDU_REG_DMA_CMD) & EDU_CMD_START))
			return 0;
		msleep(10);
	}
	dev_err(&edu->pdev->dev, "DMA timeout (src=%#llx dst=%#llx)\n", src, dst);
	return -ETIMEDOUT;
}

/* kmalloc + dma_map_single in the current task's context. */
static struct edu_buf *edu_buf_map(struct edu_dev *edu, size_t size,
				   enum dma_data_direction dir, u8 fill)
{
	struct device *dev = &edu->pdev->dev;
	struct edu_buf *b;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	b->cpu = kmalloc(size, GFP_KERNEL);
	if (!b->cpu) {
		kfree(b);
		return ERR_PTR(-ENOMEM);
	}
	memset(b->cpu, fill, size);
	b->size = size;
	b->dir = dir;
	b->pid = task_pid_nr(current);
	get_task_comm(b->comm, current);
	b->bus = dma_map_single(dev, b->cpu, size, dir);
	if (dma_mapping_error(dev, b->bus)) {
		kfree(b->cpu);
		kfree(b);
		return ERR_PTR(-EIO);
	}
	return b;
}

static void edu_buf_unmap(struct edu_dev *edu, struct edu_buf *b)
{
	dma_unmap_single(&edu->pdev->dev, b->bus, b->size, b->dir);
	kfree(b->cpu);
	kfree(b);
}

/* One correct round trip: RAM -> edu buffer -> RAM, then compare. */
static int edu_roundtrip(struct edu_dev *edu, int i)
{
	struct edu_buf *src, *dst;
	int ret;
	bool same;

	src = edu_buf_map(edu, PAGE_SIZE, DMA_TO_DEVICE, 0x5a + i);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = edu_buf_map(edu, PAGE_SIZE, DMA_FROM_DEVICE, 0);
	if (IS_ERR(dst)) {
		edu_buf_unmap(edu, src);
		return PTR_ERR(dst);
	}
	ret = edu_dma(edu, src->bus, EDU_BUF_ADDR, EDU_XFER_MAX, 0);
	if (!ret)
		ret = edu_dma(edu, EDU_BUF_ADDR, dst->bus, EDU_XFER_MAX, EDU_CMD_TO_RAM);
	dev_info(&edu->pdev->dev, "XFER %d src=%pad dst=%pad size=%zu ret=%d\n",
		 i, &src->bus, &dst->bus, src->size, ret);
	/* Unmap before reading: that is what hands the data to the CPU. */
	dma_unmap_single(&edu->pdev->dev, src->bus, src->size, src->dir);
	dma_unmap_single(&edu->pdev->dev, dst->bus, dst->size, dst->dir);
	same = !memcmp(src->cpu, dst->cpu, EDU_XFER_MAX);
	kfree(src->cpu);
	kfree(src);
	kfree(dst->cpu);
	kfree(dst);
	if (!ret && !same) {
		dev_err(&edu->pdev->dev, "XFER %d data mismatch\n", i);
		ret = -EIO;
	}
	return ret;
}

static int edu_open(struct inode *inode, struct file *file)
{
	struct edu_file *ef;

	ef = kzalloc(sizeof(*ef), GFP_KERNEL);
	if (!ef)
		return -ENOMEM;
	INIT_LIST_HEAD(&ef->bufs);
	ef->leaky = READ_ONCE(leaky);
	mutex_lock(&edu_lock);
	if (!edu_instance) {
		mutex_unlock(&edu_lock);
		kfree(ef);
		return -ENODEV;
	}
	ef->edu = edu_instance;
	list_add(&ef->node, &edu_instance->files);
	mutex_unlock(&edu_lock);
	file->private_data = ef;
	return 0;
}

static long edu_ioctl_map(struct edu_file *ef, void __user *argp)
{
	struct gputrace_edu_map req;
	struct edu_buf *b;
	int ret = 0;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (!req.size || req.size > PAGE_SIZE || req.pad ||
	    req.dir > GPUTRACE_EDU_DIR_FROM_DEVICE ||
	    (req.flags & ~GPUTRACE_EDU_MAP_XFER))
		return -EINVAL;
	if ((req.flags & GPUTRACE_EDU_MAP_XFER) && req.dir == GPUTRACE_EDU_DIR_FROM_DEVICE)
		return -EINVAL;	/* the transfer reads the buffer */

	mutex_lock(&edu_lock);
	if (!ef->edu) {
		ret = -ENODEV;
		goto out;
	}
	b = edu_buf_map(ef->edu, req.size, (enum dma_data_direction)req.dir, 0xa5);
	if (IS_ERR(b)) {
		ret = PTR_ERR(b);
		goto out;
	}
	if (req.flags & GPUTRACE_EDU_MAP_XFER)
		ret = edu_dma(ef->edu, b->bus, EDU_BUF_ADDR,
			      min_t(u32, req.size, EDU_XFER_MAX), 0);
	list_add_tail(&b->node, &ef->bufs);
	dev_info(&ef->edu->pdev->dev, "USER MAP pid=%d comm=%s bus=%pad size=%zu dir=%s leaky=%d xfer_ret=%d\n",
		 b->pid, b->comm, &b->bus, b->size, dir_name(b->dir), ef->leaky, ret);
	req.bus_addr = b->bus;
	if (!ret && copy_to_user(argp, &req, sizeof(req)))
		ret = -EFAULT;	/* the mapping stays on the file's list */
out:
	mutex_unlock(&edu_lock);
	return ret;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct edu_file *ef = file->private_data;
	u32 val;

	switch (cmd) {
	case GPUTRACE_EDU_IOC_MAP:
		return edu_ioctl_map(ef, (void __user *)arg);
	case GPUTRACE_EDU_IOC_SET_LEAKY:
		if (get_user(val, (u32 __user *)arg))
			return -EFAULT;
		mutex_lock(&edu_lock);
		ef->leaky = val != 0;
		mutex_unlock(&edu_lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

/*
 * Drops a file's mappings: unmapped, or for a leaky file moved to the device's
 * orphan list, still mapped. Called from release, and from remove for files
 * still open when the device goes away.
 */
static void edu_file_drop(struct edu_file *ef, const char *why)
{
	struct edu_dev *edu = ef->edu;
	struct edu_buf *b, *tmp;

	lockdep_assert_held(&edu_lock);
	list_for_each_entry_safe(b, tmp, &ef->bufs, node) {
		list_del(&b->node);
		if (ef->leaky) {
			dev_info(&edu->pdev->dev, "USER KEEP pid=%d comm=%s bus=%pad size=%zu dir=%s (%s, leaky: left mapped)\n",
				 b->pid, b->comm, &b->bus, b->size, dir_name(b->dir), why);
			list_add_tail(&b->node, &edu->orphans);
		} else {
			dev_info(&edu->pdev->dev, "USER UNMAP pid=%d comm=%s bus=%pad size=%zu dir=%s (%s)\n",
				 b->pid, b->comm, &b->bus, b->size, dir_name(b->dir), why);
			edu_buf_unmap(edu, b);
		}
	}
	list_del(&ef->node);
	ef->edu = NULL;
}

static int edu_release(struct inode *inode, struct file *file)
{
	struct edu_file *ef = file->private_data;

	mutex_lock(&edu_lock);
	if (ef->edu)
		edu_file_drop(ef, "release");
	mutex_unlock(&edu_lock);
	kfree(ef);
	return 0;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.open = edu_open,
	.release = edu_release,
	.unlocked_ioctl = edu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static int edu_longlived_get(struct edu_dev *edu)
{
	struct device *dev = &edu->pdev->dev;
	struct edu_buf *b;

	edu->coherent = dma_alloc_coherent(dev, PAGE_SIZE, &edu->coherent_bus, GFP_KERNEL);
	if (!edu->coherent)
		return -ENOMEM;
	b = edu_buf_map(edu, PAGE_SIZE, DMA_TO_DEVICE, 0x3c);
	if (IS_ERR(b)) {
		dma_free_coherent(dev, PAGE_SIZE, edu->coherent, edu->coherent_bus);
		edu->coherent = NULL;
		return PTR_ERR(b);
	}
	edu->streaming = b;
	dev_info(dev, "LONGLIVED coherent bus=%pad size=%lu\n", &edu->coherent_bus, PAGE_SIZE);
	dev_info(dev, "LONGLIVED streaming bus=%pad size=%zu dir=%s\n",
		 &b->bus, b->size, dir_name(b->dir));
	return 0;
}

static void edu_longlived_put(struct edu_dev *edu)
{
	struct device *dev = &edu->pdev->dev;

	if (edu->streaming) {
		dev_info(dev, "LONGLIVED release streaming bus=%pad\n", &edu->streaming->bus);
		edu_buf_unmap(edu, edu->streaming);
		edu->streaming = NULL;
	}
	if (edu->coherent) {
		dev_info(dev, "LONGLIVED release coherent bus=%pad\n", &edu->coherent_bus);
		dma_free_coherent(dev, PAGE_SIZE, edu->coherent, edu->coherent_bus);
		edu->coherent = NULL;
	}
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct edu_dev *edu;
	struct iommu_group *group;
	int i, ret;

	edu = devm_kzalloc(dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	INIT_LIST_HEAD(&edu->leaked);
	INIT_LIST_HEAD(&edu->files);
	INIT_LIST_HEAD(&edu->orphans);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	edu->mmio = pcim_iomap_table(pdev)[0];
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(EDU_DMA_BITS));
	if (ret)
		return ret;
	pci_set_drvdata(pdev, edu);

	group = iommu_group_get(dev);
	dev_info(dev, "PROBE id=%#x iommu_group=%d params xfer=%d leak=%d fault=%d longlived=%d leaky=%d\n",
		 readl(edu->mmio + EDU_REG_ID), group ? iommu_group_id(group) : -1,
		 xfer, leak, fault, longlived, leaky);
	iommu_group_put(group);

	mutex_lock(&edu_lock);
	if (edu_instance) {
		mutex_unlock(&edu_lock);
		dev_err(dev, "only one edu device is supported\n");
		return -EBUSY;
	}

	if (longlived) {
		ret = edu_longlived_get(edu);
		if (ret)
			goto err_unlock;
	}

	for (i = 0; i < xfer; i++) {
		ret = edu_roundtrip(edu, i);
		if (ret)
			goto err_longlived;
	}

	for (i = 0; i < leak; i++) {
		struct edu_buf *b = edu_buf_map(edu, PAGE_SIZE, DMA_BIDIRECTIONAL, 0x11 * i);

		if (IS_ERR(b)) {
			ret = PTR_ERR(b);
			goto err_longlived;
		}
		list_add_tail(&b->node, &edu->leaked);
		dev_info(dev, "LEAK %d bus=%pad size=%zu dir=%s (never unmapped)\n",
			 i, &b->bus, b->size, dir_name(b->dir));
	}

	if (fault) {
		/* Reading from an unmapped bus address: VT-d blocks it (DMAR fault). */
		ret = edu_dma(edu, EDU_FAULT_BUS, EDU_BUF_ADDR, EDU_XFER_MAX, 0);
		dev_info(dev, "FAULT dma from unmapped bus=%#llx size=%d ret=%d\n",
			 EDU_FAULT_BUS, EDU_XFER_MAX, ret);
		if (ret)
			goto err_longlived;
	}

	mutex_unlock(&edu_lock);

	/*
	 * misc_open() calls edu_open() with misc_mtx held, and edu_open() takes
	 * edu_lock: register without holding edu_lock to keep the lock order.
	 * Opens before edu_instance is set get -ENODEV.
	 */
	edu->misc.minor = MISC_DYNAMIC_MINOR;
	edu->misc.name = GPUTRACE_EDU_DEVNAME;
	edu->misc.fops = &edu_fops;
	edu->misc.mode = 0666;
	ret = misc_register(&edu->misc);
	mutex_lock(&edu_lock);
	if (ret)
		goto err_longlived;
	edu_instance = edu;
	mutex_unlock(&edu_lock);
	dev_info(dev, "READY /dev/%s\n", GPUTRACE_EDU_DEVNAME);
	return 0;

err_longlived:
	/* Leaked mappings stay leaked (and their memory with them): see above. */
	edu_longlived_put(edu);
err_unlock:
	mutex_unlock(&edu_lock);
	return ret;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);
	struct edu_file *ef, *tmp;
	struct edu_buf *b;
	int nleaked = 0, norphans = 0;

	/* No new opens; files still open are detached below. */
	misc_deregister(&edu->misc);

	mutex_lock(&edu_lock);
	edu_instance = NULL;
	list_for_each_entry_safe(ef, tmp, &edu->files, node)
		edu_file_drop(ef, "remove");
	edu_longlived_put(edu);
	list_for_each_entry(b, &edu->leaked, node) {
		dev_info(&pdev->dev, "OUTSTANDING leak bus=%pad size=%zu dir=%s\n",
			 &b->bus, b->size, dir_name(b->dir));
		nleaked++;
	}
	list_for_each_entry(b, &edu->orphans, node) {
		dev_info(&pdev->dev, "OUTSTANDING user pid=%d comm=%s bus=%pad size=%zu dir=%s\n",
			 b->pid, b->comm, &b->bus, b->size, dir_name(b->dir));
		norphans++;
	}
	mutex_unlock(&edu_lock);
	/*
	 * The list heads live in devm memory that is about to go; the entries
	 * (and the pages they map) are abandoned on purpose, still mapped.
	 */
	dev_info(&pdev->dev, "REMOVE outstanding module=%d user=%d\n", nleaked, norphans);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};
module_pci_driver(edu_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gputrace vm-tier fixture: DMA map/unmap, leaks and an IOMMU fault on QEMU edu");
