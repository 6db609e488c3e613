#!/usr/bin/env python3
"""Convert the ASTMT releases (PASCAL_MT.tgz, NYUD_MT.tgz; see the spec section 3) into the .npy layout documented in
Models/Data/README.md, which the trainer reads with --dataset pascal-context|nyud --data OUT:

    OUT/{train,val}/image/{i}.npy        float32 (H, W, 3), RGB in [0, 255]
    OUT/{train,val}/edge/{i}.npy         float32 (H, W), {0, 1}
    OUT/{train,val}/semseg/{i}.npy       float32 (H, W), class ids with background 0 (21 PASCAL, 41 NYUD), 255 = ignore
    OUT/{train,val}/human_parts/{i}.npy  float32 (H, W), 0 background, 1..6 parts; all 255 without person parts (PASCAL)
    OUT/{train,val}/normals/{i}.npy      float32 (H, W, 3), 2*png/255 - 1, (0, 0, 0) where the reference ignores them
    OUT/{train,val}/sal/{i}.npy          float32 (H, W), {0, 1} (PASCAL)
    OUT/{train,val}/depth/{i}.npy        float32 (H, W), metres, 0 = invalid (NYUD)
    OUT/{train,val}/ids.txt              the original image id of each index

The loader needs one image size per split, so every sample is resized to --size (default 512x512, the reference's FixedResize,
aspect ratio not preserved) with the reference's interpolation: bicubic with cv2's kernel (a = -0.75, pixel-centre alignment,
replicated border) for the image and normals (re-normalised), bilinear for depth, nearest for labels, edges and saliency.
`--size 0 0` keeps the original size (only valid when every image of a split has the same size, e.g. NYUD).

Usage:
    python3 Tools/data/convert_astmt.py pascal /path/to/PASCAL_MT OUT [--size 512 512] [--limit N]
    python3 Tools/data/convert_astmt.py nyud /path/to/NYUD_MT OUT

Needs numpy, Pillow and scipy (.mat files); PASCAL's edges also need scikit-image (`thin`), as the reference's loader does.
"""
import argparse
import json
import os
import sys

import numpy as np

# PASCAL-Part person parts -> the reference's six parts (spec 3.1).
PERSON_PARTS = {
    'head': 1, 'hair': 1, 'lear': 1, 'rear': 1, 'leye': 1, 'reye': 1, 'lebrow': 1, 'rebrow': 1, 'nose': 1, 'mouth': 1,
    'torso': 2, 'neck': 2,
    'luarm': 3, 'ruarm': 3,
    'llarm': 4, 'rlarm': 4, 'lhand': 4, 'rhand': 4,
    'luleg': 5, 'ruleg': 5,
    'llleg': 6, 'rlleg': 6, 'lfoot': 6, 'rfoot': 6,
}
PERSON_CLASS = 15


def need(module, why):
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"convert_astmt.py: Python module '{module}' is needed for {why}; install it (pip install {module}).")


# ----------------------------------------------------------------------------------------------------------- resizing

def _axis_taps(n_in, n_out, cubic):
    """Source indices and weights along one axis, align_corners=False, replicated border (cv2's conventions)."""
    dst = np.arange(n_out, dtype=np.float64)
    src = (dst + 0.5) * n_in / n_out - 0.5
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    if cubic:
        a = -0.75
        offsets = np.arange(-1, 3)
        x = np.abs(t[:, None] - offsets[None, :])
        w = np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    else:
        offsets = np.arange(0, 2)
        w = np.stack([1 - t, t], axis=1)
    idx = np.clip(i0[:, None] + offsets[None, :], 0, n_in - 1)
    return idx, w


def resize(array, height, width, mode):
    """Resize an (H, W) or (H, W, C) array: 'nearest', 'linear' or 'cubic'."""
    h, w = array.shape[:2]
    if (h, w) == (height, width):
        return array.astype(np.float32)
    if mode == 'nearest':
        ys = np.minimum((np.arange(height) * h / height).astype(np.int64), h - 1)
        xs = np.minimum((np.arange(width) * w / width).astype(np.int64), w - 1)
        return array[ys][:, xs].astype(np.float32)
    cubic = mode == 'cubic'
    out = array.astype(np.float64)
    idx, wt = _axis_taps(h, height, cubic)
    out = np.einsum('ok,ok...->o...', wt, out[idx])
    idx, wt = _axis_taps(w, width, cubic)
    out = np.einsum('ok,iok...->io...', wt, out[:, idx])
    return out.astype(np.float32)


def renormalise(normals):
    norm = np.linalg.norm(normals, axis=2, keepdims=True)
    return np.where(norm > 1e-12, normals / np.maximum(norm, 1e-12), 0).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------- readers

def read_image(path):
    need('PIL', 'reading images (Pillow)')
    from PIL import Image
    return np.array(Image.open(path).convert('RGB')).astype(np.float32)


def read_png(path):
    need('PIL', 'reading images (Pillow)')
    from PIL import Image
    return np.array(Image.open(path)).astype(np.float32)


def loadmat(path):
    need('scipy', 'reading .mat files')
    import scipy.io
    return scipy.io.loadmat(path)


def laplacian_edges(label_map):
    """cv2.Laplacian(LabelMap, CV_64F) (3x3 kernel 0 1 0 / 1 -4 1 / 0 1 0, BORDER_REFLECT_101) != 0, thinned with skimage."""
    need('skimage', "PASCAL's edges (skimage.morphology.thin)")
    from skimage import morphology
    m = np.pad(label_map.astype(np.float64), 1, mode='reflect')
    lap = m[:-2, 1:-1] + m[2:, 1:-1] + m[1:-1, :-2] + m[1:-1, 2:] - 4 * m[1:-1, 1:-1]
    return morphology.thin(np.abs(lap) > 0).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------- datasets

def pascal_samples(root, split):
    ids = [l.strip() for l in open(os.path.join(root, 'ImageSets', 'Context', f'{split}.txt')) if l.strip()]
    context = json.load(open(os.path.join(root, 'pascal-context', 'classes.json')))
    nyu = json.load(open(os.path.join(root, 'json', 'nyu_classes.json')))
    # The reference keeps distilled normals only on Context classes that NYU also has, plus tvmonitor.
    valid = [context[c] for c in nyu if c in context and c != 'unknown'] + [context['tvmonitor']]
    for image_id in ids:
        label_map = loadmat(os.path.join(root, 'pascal-context', 'trainval', image_id + '.mat'))['LabelMap']
        sample = {'image': read_image(os.path.join(root, 'JPEGImages', image_id + '.jpg'))}
        sample['edge'] = laplacian_edges(label_map)
        seg = os.path.join(root, 'semseg', 'VOC12', image_id + '.png')
        if not os.path.exists(seg):
            seg = os.path.join(root, 'semseg', 'pascal-context', image_id + '.png')
        sample['semseg'] = read_png(seg)
        sample['human_parts'] = pascal_parts(os.path.join(root, 'human_parts', image_id + '.mat'), label_map.shape)
        png = read_png(os.path.join(root, 'normals_distill', image_id + '.png'))
        normals = 2.0 * png / 255.0 - 1.0
        keep = np.isin(label_map, valid)
        sample['normals'] = np.where(keep[..., None], normals, 0).astype(np.float32)
        sample['sal'] = (read_png(os.path.join(root, 'sal_distill', image_id + '.png')) / 255.0 > 0.5).astype(np.float32)
        if sample['sal'].ndim == 3:
            sample['sal'] = sample['sal'][..., 0]
        yield image_id, sample


def pascal_parts(path, shape):
    """The reference's _load_human_parts: every person instance with parts paints its parts; no parts -> all 255 (ignored)."""
    target = None
    if os.path.exists(path):
        objects = loadmat(path)['anno'][0][0][1][0]
        for obj in objects:
            if obj[1][0][0] != PERSON_CLASS or len(obj[3]) == 0:
                continue
            if target is None:
                target = np.zeros(obj[2].shape, dtype=np.float32)
            for part in obj[3][0]:
                target[part[1].astype(bool)] = PERSON_PARTS[str(part[0][0])]
    if target is None or target.max() == 0:
        return np.full(shape, 255, dtype=np.float32)
    return target


def nyud_samples(root, split):
    ids = [l.strip() for l in open(os.path.join(root, 'gt_sets', f'{split}.txt')) if l.strip()]
    for image_id in ids:
        sample = {'image': read_image(os.path.join(root, 'images', image_id + '.jpg'))}
        edge = read_png(os.path.join(root, 'edge', image_id + '.png'))
        sample['edge'] = (edge / 255.0 >= 0.5).astype(np.float32)
        sample['semseg'] = loadmat(os.path.join(root, 'segmentation', image_id + '.mat'))['segmentation'].astype(np.float32)
        sample['normals'] = (2.0 * read_image(os.path.join(root, 'normals', image_id + '.jpg')) / 255.0 - 1.0).astype(np.float32)
        sample['depth'] = loadmat(os.path.join(root, 'depth', image_id + '.mat'))['depth'].astype(np.float32)
        yield image_id, sample


INTERPOLATION = {'image': 'cubic', 'normals': 'cubic', 'depth': 'linear'}


def convert(dataset, root, out, size, limit):
    samples = pascal_samples if dataset == 'pascal' else nyud_samples
    for split in ('train', 'val'):
        ids = []
        shape = None
        for index, (image_id, sample) in enumerate(samples(root, split)):
            if limit and index >= limit:
                break
            for name, array in sample.items():
                if size:
                    original = array
                    array = resize(array, size[0], size[1], INTERPOLATION.get(name, 'nearest'))
                    if name == 'image':
                        array = np.clip(array, 0, 255)  # cv2 saturates uint8 images after its bicubic overshoot
                    if name == 'normals':
                        # Void normals are zero vectors; the cubic kernel would blur them into their neighbours, so the
                        # void mask is resized with nearest and applied after re-normalising.
                        valid = resize((np.abs(original).sum(axis=2) > 0).astype(np.float32), size[0], size[1], 'nearest') > 0
                        array = np.where(valid[..., None], renormalise(array), 0).astype(np.float32)
                if name == 'image':
                    if shape is not None and array.shape[:2] != shape:
                        sys.exit(f"convert_astmt.py: '{image_id}' is {array.shape[:2]}, earlier images are {shape}; "
                                 "the loader needs one size per split, so pass --size H W.")
                    shape = array.shape[:2]
                folder = os.path.join(out, split, name)
                os.makedirs(folder, exist_ok=True)
                np.save(os.path.join(folder, f'{index}.npy'), np.ascontiguousarray(array, dtype=np.float32))
            ids.append(image_id)
            if len(ids) % 100 == 0:
                print(f'{split}: {len(ids)} images', flush=True)
        with open(os.path.join(out, split, 'ids.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
        print(f'{split}: {len(ids)} images written to {os.path.join(out, split)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=['pascal', 'nyud'])
    parser.add_argument('root', help='the extracted PASCAL_MT or NYUD_MT folder')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--size', nargs=2, type=int, default=[512, 512], metavar=('H', 'W'),
                        help='resize every sample to H x W (default 512 512; 0 0 keeps the original size)')
    parser.add_argument('--limit', type=int, default=0, help='convert only the first N images of each split')
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        sys.exit(f"convert_astmt.py: '{args.root}' is not a folder; expected the extracted {args.dataset.upper()}_MT release.")
    size = None if args.size == [0, 0] else args.size
    if size and min(size) < 1:
        sys.exit(f'convert_astmt.py: --size {size[0]} {size[1]} is not valid; expected positive sizes or 0 0.')
    convert(args.dataset, args.root, args.out, size, args.limit)


if __name__ == '__main__':
    main()
