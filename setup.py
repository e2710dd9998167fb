from setuptools import find_packages, setup


def parse_requirements(path: str) -> list:
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


def get_version() -> str:
    scope: dict = {}
    with open('mmprune/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmprune',
    version=get_version(),
    description='Pruning, slimming, sparsity and distillation for '
    'OpenMMLab detection, rotated detection and segmentation models',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    python_requires='>=3.10',
    # ranges, never pins: mmprune goes into the user's own environment and
    # leaves their torch alone (requirements/constraints.txt pins CI's)
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require=dict(
        mim=parse_requirements('requirements/mminstall.txt'),
        seg=parse_requirements('requirements/seg.txt'),
        rotate=parse_requirements('requirements/rotate.txt'),
        deploy=parse_requirements('requirements/deploy.txt'),
        all=(parse_requirements('requirements/mminstall.txt') +
             parse_requirements('requirements/seg.txt') +
             parse_requirements('requirements/rotate.txt') +
             parse_requirements('requirements/deploy.txt')),
        docs=parse_requirements('requirements/docs.txt'),
        tests=parse_requirements('requirements/tests.txt')),
    license='Apache License 2.0',
    zip_safe=False)
