"""Where the demo happens: three cities, their districts, streets, estates and networks."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class District:
    """A district with its centre and a few real street names."""

    city: str
    name: str
    lat: float
    lng: float
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A service network to create: where it sits and which districts it covers."""

    code: str
    name: str
    city: str
    coverage: tuple[str, ...]
    stock_location: str
    auto_dispatch: bool


def _d(city: str, name: str, lat: float, lng: float, streets: str) -> District:
    return District(city, name, lat, lng, tuple(streets.split()))


DISTRICTS: tuple[District, ...] = (
    _d("上海", "浦东新区", 31.2215, 121.5447, "张江路 世纪大道 浦东南路 杨高中路 锦绣路"),
    _d("上海", "徐汇区", 31.1885, 121.4365, "漕溪北路 肇嘉浜路 虹桥路 田林路"),
    _d("上海", "闵行区", 31.1129, 121.3817, "七莘路 沪闵路 莘松路 都市路"),
    _d("上海", "静安区", 31.2290, 121.4480, "南京西路 延安中路 共和新路 大统路"),
    _d("上海", "杨浦区", 31.2595, 121.5260, "国权路 控江路 黄兴路 政立路"),
    _d("上海", "长宁区", 31.2204, 121.4246, "天山路 仙霞路 延安西路 古北路"),
    _d("上海", "普陀区", 31.2494, 121.3970, "真北路 曹杨路 中山北路 金沙江路"),
    _d("上海", "宝山区", 31.4046, 121.4894, "牡丹江路 友谊路 淞宝路 共和新路"),
    _d("杭州", "西湖区", 30.2592, 120.1300, "文三路 天目山路 古墩路 文一路"),
    _d("杭州", "上城区", 30.2425, 120.1690, "解放路 望江路 秋涛路 庆春路"),
    _d("杭州", "拱墅区", 30.3196, 120.1418, "莫干山路 湖墅南路 上塘路 大关路"),
    _d("杭州", "滨江区", 30.2084, 120.2119, "江南大道 滨盛路 长河路 江陵路"),
    _d("杭州", "余杭区", 30.4190, 120.3015, "文一西路 良睦路 五常大道 临平大道"),
    _d("杭州", "萧山区", 30.1838, 120.2646, "市心路 金城路 建设一路 博学路"),
    _d("南京", "玄武区", 32.0485, 118.7978, "中山路 珠江路 北京东路 龙蟠路"),
    _d("南京", "秦淮区", 32.0390, 118.7948, "中华路 龙蟠中路 太平南路 大光路"),
    _d("南京", "鼓楼区", 32.0663, 118.7697, "中山北路 汉中路 湖南路 草场门大街"),
    _d("南京", "建邺区", 32.0040, 118.7316, "江东中路 河西大街 集庆门大街 庐山路"),
    _d("南京", "江宁区", 31.9530, 118.8400, "双龙大道 天元中路 胜太路 竹山路"),
    _d("南京", "栖霞区", 32.0963, 118.9090, "仙林大道 文苑路 马群街 尧化路"),
)

CITIES: tuple[str, ...] = ("上海", "杭州", "南京")
DISTRICT_BY_NAME: dict[tuple[str, str], District] = {(d.city, d.name): d for d in DISTRICTS}


# Two networks per city; the districts where both meet are covered by both, so dispatch
# has a real choice there. The first network of each city dispatches automatically.
def _n(code: str, name: str, city: str, coverage: str, stock: str, auto: bool) -> NetworkSpec:
    return NetworkSpec(code, name, city, tuple(coverage.split()), stock, auto)


NETWORKS: tuple[NetworkSpec, ...] = (
    _n("SH-PD", "上海浦东服务中心", "上海", "浦东新区 杨浦区 宝山区 静安区", "WH-SH-01", True),
    _n(
        "SH-XH", "上海徐汇服务中心", "上海", "徐汇区 闵行区 长宁区 普陀区 静安区", "WH-SH-02", False
    ),
    _n("HZ-XH", "杭州西湖服务中心", "杭州", "西湖区 拱墅区 余杭区 上城区", "WH-HZ-01", True),
    _n("HZ-BJ", "杭州滨江服务中心", "杭州", "滨江区 萧山区 上城区", "WH-HZ-02", False),
    _n("NJ-GL", "南京鼓楼服务中心", "南京", "鼓楼区 建邺区 玄武区", "WH-NJ-01", True),
    _n("NJ-JN", "南京江宁服务中心", "南京", "江宁区 秦淮区 栖霞区 玄武区", "WH-NJ-02", False),
)

_ESTATES = """
    阳光花园 锦绣苑 春江花月 万科城市花园 绿地世纪城 金地格林小镇 保利香槟国际 融侨城 翠苑新村
    碧桂园 中海寰宇天下 新城首府 华润橡树湾 龙湖春江郦城 世茂滨江花园 招商雍华府 恒大绿洲
    明珠小区 东方名城 御景园
"""
ESTATES: tuple[str, ...] = tuple(_ESTATES.split())

_KM_PER_DEG_LAT = 111.0


def jitter(rng: random.Random, lat: float, lng: float, km: float) -> tuple[Decimal, Decimal]:
    """A point about `km` around (lat, lng), rounded to the columns' six decimals."""
    dlat = rng.gauss(0, km) / _KM_PER_DEG_LAT
    dlng = rng.gauss(0, km) / (_KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return Decimal(f"{lat + dlat:.6f}"), Decimal(f"{lng + dlng:.6f}")


def distance_km(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> float:
    """Straight-line distance, good enough at city scale."""
    lat1, lng1, lat2, lng2 = (float(x) for x in (*a, *b))
    dy = (lat2 - lat1) * _KM_PER_DEG_LAT
    dx = (lng2 - lng1) * _KM_PER_DEG_LAT * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def street_address(rng: random.Random, district: District) -> str:
    """A plausible street address inside the district, down to the flat."""
    building = rng.randint(1, 30)
    floor = rng.randint(1, 28)
    return (
        f"{rng.choice(district.streets)}{rng.randint(1, 1800)}号"
        f"{rng.choice(ESTATES)}{building}栋{floor}{rng.randint(1, 4):02d}室"
    )
